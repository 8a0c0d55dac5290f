/* wft: a tiny test plugin for the workflow tests. wft.stamp has an option of every type;
 * wft.noop has none. Written directly against plugin.h, as a third party would. */
#include <reelflow/plugin.h>

static const char* const kModes[] = {"fast", "slow", "best", NULL};

static const rf_option kStampOptions[] = {
    {sizeof(rf_option), "text", RF_OPT_STRING, "\"hi\"", 0, 0, 0, 0, 0, NULL, "Text to stamp.", 0},
    {sizeof(rf_option), "title", RF_OPT_STRING, NULL, 1, 0, 0, 0, 0, NULL, "Title of the video.",
     0},
    {sizeof(rf_option), "count", RF_OPT_INT, "3", 0, 1, 1, 1, 10, NULL, "How many stamps.", 0},
    {sizeof(rf_option), "ratio", RF_OPT_FLOAT, NULL, 0, 1, 0, 1, 1, NULL, "Blend ratio.", 0},
    {sizeof(rf_option), "loud", RF_OPT_BOOL, "false", 0, 0, 0, 0, 0, NULL, "Shout.", 0},
    {sizeof(rf_option), "wait", RF_OPT_DURATION, "\"30s\"", 0, 0, 0, 1, 3600, NULL,
     "How long to wait.", 0},
    {sizeof(rf_option), "file", RF_OPT_PATH, NULL, 0, 0, 0, 0, 0, NULL, "Input file.", 0},
    {sizeof(rf_option), "mode", RF_OPT_ENUM, "\"fast\"", 0, 0, 0, 0, 0, kModes, "Speed.", 0},
    {sizeof(rf_option), "tags", RF_OPT_LIST, NULL, 0, 0, 0, 1, 5, NULL, "Hashtags.", RF_OPT_STRING},
    {sizeof(rf_option), "meta", RF_OPT_OBJECT, NULL, 0, 0, 0, 0, 0, NULL, "Free-form metadata.", 0},
};

static int instance_token;

static void* wft_create(const rf_host* host, const char* config_json) {
  (void)host;
  (void)config_json;
  return &instance_token;
}

static rf_status wft_run(void* instance, rf_run* run, const char* options_json,
                         const char* context_json) {
  (void)instance;
  (void)run;
  (void)options_json;
  (void)context_json;
  return RF_STATUS_OK;
}

static void wft_destroy(void* instance) { (void)instance; }

static const rf_step_type kStepTypes[] = {
    {sizeof(rf_step_type), "wft.stamp", "Stamps a video (test).", RF_STEP_RERUN_SAFE, kStampOptions,
     sizeof kStampOptions / sizeof kStampOptions[0], wft_create, wft_run, NULL, wft_destroy, NULL},
    {sizeof(rf_step_type), "wft.noop", "Does nothing (test).", RF_STEP_RERUN_SAFE, NULL, 0,
     wft_create, wft_run, NULL, wft_destroy, NULL},
};

static const rf_plugin kPlugin = {sizeof(rf_plugin),
                                  RF_ABI_MAJOR,
                                  RF_ABI_MINOR,
                                  "wft",
                                  "0.1.0",
                                  "Apache-2.0",
                                  "Workflow test plugin.",
                                  kStepTypes,
                                  sizeof kStepTypes / sizeof kStepTypes[0]};

RF_EXPORT const rf_plugin* reelflow_plugin_entry(uint16_t host_major, uint16_t host_minor) {
  (void)host_major;
  (void)host_minor;
  return &kPlugin;
}
