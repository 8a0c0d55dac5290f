/* wftrig: trigger types for the loader tests, loaded only by the tests about plugin triggers (so
   the corpus's messages, which list the triggers available, stay those of wft + watch).
   wftrig.poll has an option of every kind the trigger validator reads differently; wftrig.hook
   has none. Two trigger types make the short key `wftrig` ambiguous. Never started. */
#include <reelflow/plugin.h>

static const char* const kModes[] = {"fast", "slow", NULL};

static const rf_option kPollOptions[] = {
    {sizeof(rf_option), "every", RF_OPT_DURATION, NULL, 1, 1, 1, 0, 0, NULL, "How often to poll.",
     0},
    {sizeof(rf_option), "count", RF_OPT_INT, "3", 0, 1, 1, 1, 10, NULL, "How many at once.", 0},
    {sizeof(rf_option), "mode", RF_OPT_ENUM, "\"fast\"", 0, 0, 0, 0, 0, kModes, "Speed.", 0},
    {sizeof(rf_option), "tags", RF_OPT_LIST, "[]", 0, 0, 0, 0, 0, NULL, "Tags.", RF_OPT_STRING},
    {sizeof(rf_option), "meta", RF_OPT_OBJECT, NULL, 0, 0, 0, 0, 0, NULL, "Anything.", 0},
    {sizeof(rf_option), "label", RF_OPT_STRING, NULL, 0, 0, 0, 0, 0, NULL, "A label.", 0},
    {sizeof(rf_option), "url", RF_OPT_STRING, NULL, 1, 0, 0, 0, 0, NULL, "URL of the feed.", 0},
};

static int instance_token;

static void* start_trigger(const rf_trigger_host* host, const char* config_json,
                           const char* options_json) {
  (void)host;
  (void)config_json;
  (void)options_json;
  return &instance_token;
}

static int64_t next_timeout(void* instance) {
  (void)instance;
  return -1;
}

static void on_timer(void* instance) { (void)instance; }

static void stop_trigger(void* instance) { (void)instance; }

static const rf_trigger_type kTriggerTypes[] = {
    {sizeof(rf_trigger_type), "wftrig.poll", "Polls (test).", 0, kPollOptions,
     sizeof kPollOptions / sizeof kPollOptions[0], start_trigger, NULL, NULL, next_timeout,
     on_timer, stop_trigger},
    {sizeof(rf_trigger_type), "wftrig.hook", "Hooks (test).", 0, NULL, 0, start_trigger, NULL, NULL,
     next_timeout, on_timer, stop_trigger},
};

static const rf_plugin kPlugin = {sizeof(rf_plugin),
                                  RF_ABI_MAJOR,
                                  RF_ABI_MINOR,
                                  "wftrig",
                                  "0.1.0",
                                  "Apache-2.0",
                                  "Workflow trigger test plugin.",
                                  NULL,
                                  0,
                                  kTriggerTypes,
                                  sizeof kTriggerTypes / sizeof kTriggerTypes[0]};

RF_EXPORT const rf_plugin* reelflow_plugin_entry(uint16_t host_major, uint16_t host_minor) {
  (void)host_major;
  (void)host_minor;
  return &kPlugin;
}
