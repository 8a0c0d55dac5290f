/* A complete, valid plugin: one step with an option of every type, one irreversible step with
   reconcile. The registry tests compare what the host read with these tables. */
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

static const char* const modes[] = {"fast", "slow", NULL};

static const rf_option convert_options[] = {
    {sizeof(rf_option), "input", RF_OPT_PATH, NULL, 1, 0, 0, 0, 0, NULL, "The source video.", 0},
    {sizeof(rf_option), "title", RF_OPT_STRING, "\"untitled\"", 0, 0, 0, 0, 0, NULL, "Title.", 0},
    {sizeof(rf_option), "count", RF_OPT_INT, "3", 0, 1, 1, 1, 10, NULL, "How many.", 0},
    {sizeof(rf_option), "ratio", RF_OPT_FLOAT, NULL, 0, 1, 0, 1, 1, NULL, "A fraction.", 0},
    {sizeof(rf_option), "enabled", RF_OPT_BOOL, "true", 0, 0, 0, 0, 0, NULL, "On or off.", 0},
    {sizeof(rf_option), "settle", RF_OPT_DURATION, "\"1m30s\"", 0, 1, 1, 0, 0, NULL, "Wait.", 0},
    {sizeof(rf_option), "mode", RF_OPT_ENUM, "\"fast\"", 0, 0, 0, 0, 0, modes, "Speed.", 0},
    {sizeof(rf_option), "tags", RF_OPT_LIST, "[]", 0, 0, 0, 1, 3, NULL, "Tags.", RF_OPT_STRING},
    {sizeof(rf_option), "extra", RF_OPT_OBJECT, NULL, 0, 0, 0, 0, 0, NULL, "Anything.", 0},
};

static const rf_step_type step_types[] = {
    {sizeof(rf_step_type), "phtest_good.convert", "Converts", RF_STEP_RERUN_SAFE, convert_options,
     sizeof(convert_options) / sizeof(convert_options[0]), create_instance, run_step, NULL,
     destroy_instance, NULL},
    {sizeof(rf_step_type), "phtest_good.publish", "Publishes", RF_STEP_IRREVERSIBLE, NULL, 0,
     create_instance, run_step, NULL, destroy_instance, reconcile_step},
};

static const rf_plugin plugin = {sizeof(rf_plugin),    RF_ABI_MAJOR, RF_ABI_MINOR,
                                 "phtest_good",        "1.2.3",      "MIT",
                                 "A good test plugin", step_types,   2};

RF_EXPORT const rf_plugin* reelflow_plugin_entry(uint16_t host_major, uint16_t host_minor) {
  (void)host_major;
  (void)host_minor;
  return &plugin;
}
