/* Three files claiming the plugin name phtest_dup. DUP_FIRST provides phtest_dup.step;
   DUP_SECOND provides phtest_dup.other and phtest_dup.step (a step type collision); DUP_THIRD
   provides phtest_dup.third only (a plugin name collision). */
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

#define STEP(name)                                                                                 \
  {                                                                                                \
    sizeof(rf_step_type), name, "", 0, NULL, 0, create_instance, run_step, NULL, destroy_instance, \
        NULL                                                                                       \
  }

static const rf_step_type step_types[] = {
#if defined(DUP_FIRST)
    STEP("phtest_dup.step"),
#elif defined(DUP_SECOND)
    STEP("phtest_dup.other"),
    STEP("phtest_dup.step"),
#else
    STEP("phtest_dup.third"),
#endif
};

static const rf_plugin plugin = {
    sizeof(rf_plugin), RF_ABI_MAJOR, RF_ABI_MINOR,
    "phtest_dup",      "0.1.0",      "MIT",
    "duplicates",      step_types,   sizeof(step_types) / sizeof(step_types[0])};

RF_EXPORT const rf_plugin* reelflow_plugin_entry(uint16_t host_major, uint16_t host_minor) {
  (void)host_major;
  (void)host_minor;
  return &plugin;
}
