/* ABI negotiation test plugins; one variant per build (see ../CMakeLists.txt).
 *
 * ABI_NEWER_MAJOR   declares ABI 2.0: refused, major versions must match.
 * ABI_NEWER_MINOR   declares ABI 1.(host minor + 5): refused, newer minor than the host.
 * ABI_REFUSES       the entry function returns NULL.
 * ABI_OLDER_LAYOUT  stands in for a plugin built against an older header: this plugin uses local
 *                   copies of rf_plugin as ABI 1.0 defined it (no trigger_types and
 *                   trigger_type_count), of rf_step_type without its trailing `reconcile` and of
 *                   rf_option without its trailing `item_type`, with struct_size set accordingly,
 *                   and declares minor 0. The host must read both arrays with the smaller stride,
 *                   see the missing fields as 0, and read nothing past the descriptor's
 *                   struct_size: the bytes right after it look like a trigger type array of
 *                   garbage.
 * ABI_MINOR0_TRIGGER_FIELDS  the current rf_plugin layout, but declaring minor 0 while its
 *                   trigger fields hold garbage: trigger types came with minor 1, so the host
 *                   ignores them.
 * ABI_PREVIOUS_MINOR  declares the minor before the host's (1.2 on a 1.3 host) and reads rf_host
 *                   through a local copy of rf_host as ABI 1.2 defined it (no `call`): it must
 *                   load and run unchanged, the host's larger table being a superset of its own. */
#include <reelflow/plugin.h>
#include <stdio.h>

static void* create_instance(const rf_host* host, const char* config_json) {
  static int instance;
  (void)host;
  (void)config_json;
  return &instance;
}

static rf_status run_step(void* instance, rf_run* run, const char* options_json,
                          const char* context_json) {
  (void)instance;
  (void)run;
  (void)options_json;
  (void)context_json;
  return RF_STATUS_OK;
}

static void destroy_instance(void* instance) { (void)instance; }

#if defined(ABI_PREVIOUS_MINOR)

/* rf_host as ABI 1.2 defined it. */
typedef struct host_1_2 {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  void (*log)(rf_run* run, rf_log_level level, const char* message);
  void (*progress)(rf_run* run, double fraction, const char* message);
  int (*cancelled)(rf_run* run);
  const char* (*artifact_dir)(rf_run* run);
  long (*secret)(rf_run* run, const char* name, char* buf, size_t cap);
  long (*state_get)(rf_run* run, const char* key, char* buf, size_t cap);
  int (*state_set)(rf_run* run, const char* key, const char* value);
  int (*set_output)(rf_run* run, const char* json_object);
  void (*fail)(rf_run* run, const char* message);
  int (*checkpoint)(rf_run* run, const char* json_object);
} host_1_2;

static const host_1_2* previous_host;

static void* create_with_previous_host(const rf_host* host, const char* config_json) {
  static int instance;
  (void)config_json;
  previous_host = (const host_1_2*)(const void*)host;
  return &instance;
}

static rf_status run_with_previous_host(void* instance, rf_run* run, const char* options_json,
                                        const char* context_json) {
  char output[128];
  (void)instance;
  (void)options_json;
  (void)context_json;
  snprintf(output, sizeof(output), "{\"host_minor\":%d,\"covers_1_2\":%s}",
           previous_host->abi_minor,
           previous_host->struct_size >= sizeof(host_1_2) ? "true" : "false");
  return previous_host->set_output(run, output) == 0 ? RF_STATUS_OK : RF_STATUS_ERROR;
}

#define create_instance create_with_previous_host
#define run_step run_with_previous_host

#endif

#if defined(ABI_OLDER_LAYOUT)

typedef struct older_option {
  uint32_t struct_size;
  const char* name;
  rf_option_type type;
  const char* default_json;
  int required;
  int has_min;
  double min;
  int has_max;
  double max;
  const char* const* enum_values;
  const char* help;
  /* no item_type */
} older_option;

typedef struct older_step_type {
  uint32_t struct_size;
  const char* name;
  const char* summary;
  uint32_t flags;
  const older_option* options;
  size_t option_count;
  void* (*create)(const rf_host* host, const char* config_json);
  rf_status (*run)(void* instance, rf_run* run, const char* options_json, const char* context_json);
  void (*cancel)(void* instance);
  void (*destroy)(void* instance);
  /* no reconcile */
} older_step_type;

static const older_option first_options[] = {
    {sizeof(older_option), "tags", RF_OPT_LIST, "[\"a\", 1]", 0, 0, 0, 0, 0, NULL,
     "A list whose item type the old layout cannot say: any."},
    {sizeof(older_option), "count", RF_OPT_INT, "2", 0, 1, 1, 1, 5, NULL, "How many."},
};

/* Two entries, so a wrong stride would read garbage for the second one. */
static const older_step_type step_types[] = {
    {sizeof(older_step_type), PH_PLUGIN_NAME ".first", "First step", RF_STEP_RERUN_SAFE,
     first_options, 2, create_instance, run_step, NULL, destroy_instance},
    {sizeof(older_step_type), PH_PLUGIN_NAME ".second", "Second step", 0, NULL, 0, create_instance,
     run_step, NULL, destroy_instance},
};

/* rf_plugin as ABI 1.0 defined it. */
typedef struct older_plugin {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  const char* name;
  const char* version;
  const char* license;
  const char* summary;
  const older_step_type* step_types;
  size_t step_type_count;
} older_plugin;

/* The descriptor followed by what a 1.1 host would take for trigger_types and trigger_type_count
   if it read past struct_size. */
static const struct {
  older_plugin plugin;
  const void* trailing_pointer;
  size_t trailing_count;
} descriptor = {{sizeof(older_plugin), RF_ABI_MAJOR, 0, PH_PLUGIN_NAME, "0.1.0", "Apache-2.0",
                 "older layout", step_types, 2},
                (const void*)(size_t)0x10,
                7};
#define PLUGIN_DESCRIPTOR ((const rf_plugin*)&descriptor.plugin)

#else

static const rf_step_type step_types[] = {
    {sizeof(rf_step_type), PH_PLUGIN_NAME ".step", "A step", 0, NULL, 0, create_instance, run_step,
     NULL, destroy_instance, NULL},
};

#if defined(ABI_NEWER_MAJOR)
#define PLUGIN_MAJOR (RF_ABI_MAJOR + 1)
#define PLUGIN_MINOR 0
#elif defined(ABI_NEWER_MINOR)
#define PLUGIN_MAJOR RF_ABI_MAJOR
#define PLUGIN_MINOR (RF_ABI_MINOR + 5)
#elif defined(ABI_MINOR0_TRIGGER_FIELDS)
#define PLUGIN_MAJOR RF_ABI_MAJOR
#define PLUGIN_MINOR 0
#elif defined(ABI_PREVIOUS_MINOR)
#define PLUGIN_MAJOR RF_ABI_MAJOR
#define PLUGIN_MINOR (RF_ABI_MINOR - 1)
#else
#define PLUGIN_MAJOR RF_ABI_MAJOR
#define PLUGIN_MINOR RF_ABI_MINOR
#endif

#if defined(ABI_MINOR0_TRIGGER_FIELDS)
#define TRIGGER_TYPES ((const rf_trigger_type*)(size_t)0x10) /* the zero page is never mapped */
#define TRIGGER_TYPE_COUNT 7
#else
#define TRIGGER_TYPES NULL
#define TRIGGER_TYPE_COUNT 0
#endif

static const rf_plugin plugin = {sizeof(rf_plugin), PLUGIN_MAJOR,      PLUGIN_MINOR,
                                 PH_PLUGIN_NAME,    "0.1.0",           "Apache-2.0",
                                 "ABI test",        step_types,        1,
                                 TRIGGER_TYPES,     TRIGGER_TYPE_COUNT};
#define PLUGIN_DESCRIPTOR (&plugin)

#endif

RF_EXPORT const rf_plugin* reelflow_plugin_entry(uint16_t host_major, uint16_t host_minor) {
  (void)host_major;
  (void)host_minor;
#if defined(ABI_REFUSES)
  return NULL;
#else
  return PLUGIN_DESCRIPTOR;
#endif
}
