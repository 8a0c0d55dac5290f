/* Trigger types (ABI 1.1) as the registry reads them; one variant per build (TRIGGER_<VARIANT>,
   see ../CMakeLists.txt). The default is a valid plugin named PH_PLUGIN_NAME with one step type
   and two trigger types: PH_PLUGIN_NAME.inbox (a descriptor and a timer, three options) and
   PH_PLUGIN_NAME.clock (a timer only, no options). Each other variant breaks exactly one rule.

   TRIGGER_SIZE_SMALL           rf_trigger_type.struct_size smaller than the 1.1 layout
   TRIGGER_BAD_NAME             a trigger type named after another plugin
   TRIGGER_NULL_START           start is NULL
   TRIGGER_NULL_STOP            stop is NULL
   TRIGGER_FD_WITHOUT_READABLE  fd is set, on_readable is not
   TRIGGER_TIMEOUT_WITHOUT_TIMER  next_timeout is set, on_timer is not
   TRIGGER_NO_WAKEUP            neither fd nor next_timeout
   TRIGGER_DECLARED_TWICE       two trigger types of the same name
   TRIGGER_BAD_OPTION           an option whose default does not fit its range
   TRIGGER_NULL_ARRAY           trigger_type_count 2 but trigger_types NULL
   TRIGGER_DUP_FIRST/SECOND     two plugins named phtest_tdup with different step types and the same
                                trigger type phtest_tdup.inbox */
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

static void destroy_instance(void* instance) { (void)instance; }

static void* start_trigger(const rf_trigger_host* host, const char* config_json,
                           const char* options_json) {
  static int instance;
  (void)host;
  (void)config_json;
  (void)options_json;
  return &instance;
}

static int trigger_fd(void* instance) {
  (void)instance;
  return -1;
}

static void on_readable(void* instance) { (void)instance; }

static int64_t next_timeout(void* instance) {
  (void)instance;
  return -1;
}

static void on_timer(void* instance) { (void)instance; }

static void stop_trigger(void* instance) { (void)instance; }

#if defined(TRIGGER_DUP_FIRST) || defined(TRIGGER_DUP_SECOND)
#define PLUGIN_NAME "phtest_tdup"
#else
#define PLUGIN_NAME PH_PLUGIN_NAME
#endif

/* Defaults, overridden per variant below. */
#define TRIGGER_STRUCT_SIZE sizeof(rf_trigger_type)
#define INBOX_NAME PLUGIN_NAME ".inbox"
#define CLOCK_NAME PLUGIN_NAME ".clock"
#define START_CALLBACK start_trigger
#define STOP_CALLBACK stop_trigger
#define FD_CALLBACK trigger_fd
#define READABLE_CALLBACK on_readable
#define TIMEOUT_CALLBACK next_timeout
#define TIMER_CALLBACK on_timer
#define SETTLE_DEFAULT "\"2s\""
#define TRIGGER_ARRAY trigger_types
#define STEP_NAME PLUGIN_NAME ".step"

#if defined(TRIGGER_SIZE_SMALL)
#undef TRIGGER_STRUCT_SIZE
#define TRIGGER_STRUCT_SIZE 16
#elif defined(TRIGGER_BAD_NAME)
#undef INBOX_NAME
#define INBOX_NAME "someone_else.inbox"
#elif defined(TRIGGER_NULL_START)
#undef START_CALLBACK
#define START_CALLBACK NULL
#elif defined(TRIGGER_NULL_STOP)
#undef STOP_CALLBACK
#define STOP_CALLBACK NULL
#elif defined(TRIGGER_FD_WITHOUT_READABLE)
#undef READABLE_CALLBACK
#define READABLE_CALLBACK NULL
#elif defined(TRIGGER_TIMEOUT_WITHOUT_TIMER)
#undef TIMER_CALLBACK
#define TIMER_CALLBACK NULL
#elif defined(TRIGGER_NO_WAKEUP)
#undef FD_CALLBACK
#define FD_CALLBACK NULL
#undef READABLE_CALLBACK
#define READABLE_CALLBACK NULL
#undef TIMEOUT_CALLBACK
#define TIMEOUT_CALLBACK NULL
#undef TIMER_CALLBACK
#define TIMER_CALLBACK NULL
#elif defined(TRIGGER_DECLARED_TWICE)
#undef CLOCK_NAME
#define CLOCK_NAME INBOX_NAME
#elif defined(TRIGGER_BAD_OPTION)
#undef SETTLE_DEFAULT
#define SETTLE_DEFAULT "\"2h\""
#elif defined(TRIGGER_NULL_ARRAY)
#undef TRIGGER_ARRAY
#define TRIGGER_ARRAY NULL
#elif defined(TRIGGER_DUP_SECOND)
#undef STEP_NAME
#define STEP_NAME PLUGIN_NAME ".other"
#endif

static const rf_option inbox_options[] = {
    {sizeof(rf_option), "path", RF_OPT_PATH, NULL, 1, 0, 0, 0, 0, NULL, "The folder.", 0},
    {sizeof(rf_option), "patterns", RF_OPT_LIST, "[]", 0, 0, 0, 0, 0, NULL, "Globs.",
     RF_OPT_STRING},
    {sizeof(rf_option), "settle", RF_OPT_DURATION, SETTLE_DEFAULT, 0, 1, 0, 1, 3600, NULL,
     "Quiet time.", 0},
};

static const rf_trigger_type trigger_types[] = {
    {TRIGGER_STRUCT_SIZE, INBOX_NAME, "Files in a folder", 0, inbox_options, 3, START_CALLBACK,
     FD_CALLBACK, READABLE_CALLBACK, TIMEOUT_CALLBACK, TIMER_CALLBACK, STOP_CALLBACK},
    {TRIGGER_STRUCT_SIZE, CLOCK_NAME, "Ticks", 0, NULL, 0, start_trigger, NULL, NULL, next_timeout,
     on_timer, stop_trigger},
};

static const rf_step_type step_types[] = {
    {sizeof(rf_step_type), STEP_NAME, "A step", 0, NULL, 0, create_instance, run_step, NULL,
     destroy_instance, NULL},
};

static const rf_plugin plugin = {sizeof(rf_plugin),
                                 RF_ABI_MAJOR,
                                 RF_ABI_MINOR,
                                 PLUGIN_NAME,
                                 "0.1.0",
                                 "MIT",
                                 "trigger types",
                                 step_types,
                                 1,
                                 TRIGGER_ARRAY,
                                 2};

RF_EXPORT const rf_plugin* reelflow_plugin_entry(uint16_t host_major, uint16_t host_minor) {
  (void)host_major;
  (void)host_minor;
  return &plugin;
}
