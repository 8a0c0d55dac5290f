/* A plugin that needs a function no library provides: dlopen(RTLD_NOW) must fail and name it. */
#include <reelflow/plugin.h>

extern int phtest_function_nobody_defines(int value);

static void* create_instance(const rf_host* host, const char* config_json) {
  (void)host;
  (void)config_json;
  return (void*)(size_t)phtest_function_nobody_defines(1);
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

static const rf_step_type step_types[] = {
    {sizeof(rf_step_type), "phtest_unresolved.step", "A step", 0, NULL, 0, create_instance,
     run_step, NULL, destroy_instance, NULL},
};

static const rf_plugin plugin = {sizeof(rf_plugin),   RF_ABI_MAJOR, RF_ABI_MINOR,
                                 "phtest_unresolved", "0.1.0",      "MIT",
                                 "unresolved",        step_types,   1};

__attribute__((visibility("default"))) const rf_plugin* reelflow_plugin_entry(uint16_t major,
                                                                              uint16_t minor) {
  (void)major;
  (void)minor;
  return &plugin;
}
