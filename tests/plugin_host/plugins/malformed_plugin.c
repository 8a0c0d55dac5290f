/* Malformed descriptors, one per build (MALFORMED_<VARIANT>, see ../CMakeLists.txt). Each variant
   breaks exactly one rule of plugin.h; everything else matches a valid plugin named
   PH_PLUGIN_NAME with one step type PH_PLUGIN_NAME.step and one int option `size`. */
#include <reelflow/plugin.h>

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

static rf_status reconcile_step(void* instance, rf_run* run, const char* options_json,
                                const char* context_json, const char* intent_json) {
  (void)intent_json;
  return run_step(instance, run, options_json, context_json);
}

static void destroy_instance(void* instance) { (void)instance; }

/* Defaults, overridden per variant below. */
#define PLUGIN_STRUCT_SIZE sizeof(rf_plugin)
#define STEP_STRUCT_SIZE sizeof(rf_step_type)
#define OPTION_STRUCT_SIZE sizeof(rf_option)
#define PLUGIN_NAME PH_PLUGIN_NAME
#define PLUGIN_VERSION "0.1.0"
#define STEP_NAME PH_PLUGIN_NAME ".step"
#define STEP_FLAGS 0
#define RUN_CALLBACK run_step
#define RECONCILE_CALLBACK reconcile_step
#define OPTION_NAME "size"
#define SECOND_OPTION_NAME "other"
#define OPTION_TYPE RF_OPT_INT
#define OPTION_DEFAULT "3"
#define OPTION_ENUM_VALUES NULL

#if defined(MALFORMED_PLUGIN_SIZE_ZERO)
#undef PLUGIN_STRUCT_SIZE
#define PLUGIN_STRUCT_SIZE 0
#elif defined(MALFORMED_STEP_SIZE_ZERO)
#undef STEP_STRUCT_SIZE
#define STEP_STRUCT_SIZE 0
#elif defined(MALFORMED_OPTION_SIZE_HUGE)
#undef OPTION_STRUCT_SIZE
#define OPTION_STRUCT_SIZE (1u << 20)
#elif defined(MALFORMED_BAD_PLUGIN_NAME)
#undef PLUGIN_NAME
#define PLUGIN_NAME "Bad-Name"
#elif defined(MALFORMED_NULL_PLUGIN_NAME)
#undef PLUGIN_NAME
#define PLUGIN_NAME NULL
#elif defined(MALFORMED_UNREADABLE_PLUGIN_NAME)
#undef PLUGIN_NAME
#define PLUGIN_NAME ((const char*)(size_t)0x28) /* the zero page is never mapped */
#elif defined(MALFORMED_BAD_STEP_NAME)
#undef STEP_NAME
#define STEP_NAME "someone_else.step"
#elif defined(MALFORMED_BAD_OPTION_NAME)
#undef OPTION_NAME
#define OPTION_NAME "Size"
#elif defined(MALFORMED_INVALID_DEFAULT_JSON)
#undef OPTION_DEFAULT
#define OPTION_DEFAULT "{nope"
#elif defined(MALFORMED_DEFAULT_OUT_OF_RANGE)
#undef OPTION_DEFAULT
#define OPTION_DEFAULT "42"
#elif defined(MALFORMED_DUPLICATE_OPTION)
#undef SECOND_OPTION_NAME
#define SECOND_OPTION_NAME "size"
#elif defined(MALFORMED_UNKNOWN_OPTION_TYPE)
#undef OPTION_TYPE
#define OPTION_TYPE ((rf_option_type)42)
#elif defined(MALFORMED_IRREVERSIBLE_WITHOUT_RECONCILE)
#undef STEP_FLAGS
#define STEP_FLAGS RF_STEP_IRREVERSIBLE
#undef RECONCILE_CALLBACK
#define RECONCILE_CALLBACK NULL
#elif defined(MALFORMED_EMPTY_ENUM)
static const char* const no_values[] = {NULL};
#undef OPTION_TYPE
#define OPTION_TYPE RF_OPT_ENUM
#undef OPTION_DEFAULT
#define OPTION_DEFAULT NULL
#undef OPTION_ENUM_VALUES
#define OPTION_ENUM_VALUES no_values
#elif defined(MALFORMED_NULL_RUN)
#undef RUN_CALLBACK
#define RUN_CALLBACK NULL
#elif defined(MALFORMED_MISSING_VERSION)
#undef PLUGIN_VERSION
#define PLUGIN_VERSION NULL
#endif

static const rf_option options[] = {
    {OPTION_STRUCT_SIZE, OPTION_NAME, OPTION_TYPE, OPTION_DEFAULT, 0, 1, 1, 1, 10,
     OPTION_ENUM_VALUES, "A size.", 0},
    {OPTION_STRUCT_SIZE, SECOND_OPTION_NAME, RF_OPT_STRING, NULL, 0, 0, 0, 0, 0, NULL, "Other.", 0},
};

static const rf_step_type step_types[] = {
    {STEP_STRUCT_SIZE, STEP_NAME, "A step", STEP_FLAGS, options, 2, create_instance, RUN_CALLBACK,
     NULL, destroy_instance, RECONCILE_CALLBACK},
};

static const rf_plugin plugin = {PLUGIN_STRUCT_SIZE, RF_ABI_MAJOR,   RF_ABI_MINOR,
                                 PLUGIN_NAME,        PLUGIN_VERSION, "MIT",
                                 "malformed",        step_types,     1};

#if defined(MALFORMED_ENTRY_NOT_FUNCTION)
/* The right name on a data object: calling it would jump into data. */
RF_EXPORT const rf_plugin* const reelflow_plugin_entry = &plugin;
#else
RF_EXPORT const rf_plugin* reelflow_plugin_entry(uint16_t host_major, uint16_t host_minor) {
  (void)host_major;
  (void)host_minor;
#if defined(MALFORMED_GARBAGE_DESCRIPTOR)
  (void)plugin;
  return (const rf_plugin*)(size_t)0x10; /* the zero page is never mapped */
#else
  return &plugin;
#endif
}
#endif
