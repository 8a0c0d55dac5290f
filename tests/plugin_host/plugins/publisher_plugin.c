/* A publisher type (ABI 1.2) with its scheduling_json, one variant per build (PUB_<VARIANT>, see
   ../CMakeLists.txt): PUB_GOOD declares valid quotas and windows; PUB_OLD_SIZE has a struct_size
   that ends before scheduling_json (a plugin built before the field: no rules); the others break
   one rule of scheduling_json. The callbacks do nothing: the registry only reads the tables. */
#include <stddef.h>

#include <reelflow/plugin.h>

static void* create_instance(const rf_host* host, const char* config_json) {
  static int instance;
  (void)host;
  (void)config_json;
  return &instance;
}
static void destroy_instance(void* instance) { (void)instance; }
static rf_status post_call(void* instance, rf_run* run, const char* post_json) {
  (void)instance;
  (void)run;
  (void)post_json;
  return RF_STATUS_OK;
}
static rf_status session_call(void* instance, rf_run* run, const char* post_json,
                              const char* session_json) {
  (void)session_json;
  return post_call(instance, run, post_json);
}

#if defined(PUB_GOOD) || defined(PUB_OLD_SIZE)
#define SCHEDULING                                                                              \
  "{\"quotas\": [{\"name\": \"uploads\", \"limit\": 6, \"per\": \"day\", "                    \
  "\"time_zone\": \"America/Los_Angeles\", \"note\": \"10,000 units, 1,600 an upload\"}, "      \
  "{\"name\": \"inits\", \"limit\": 6, \"per\": \"1m\"}], "                                     \
  "\"windows\": [\"Mon-Fri 12:00-15:00\", \"Sat,Sun 09:00-11:30\"], "                          \
  "\"windows_note\": \"a test\"}"
#elif defined(PUB_BAD_JSON)
#define SCHEDULING "{\"quotas\": ["
#elif defined(PUB_BAD_WINDOW)
#define SCHEDULING "{\"windows\": [\"Mon-Fri 15:00-12:00\"]}"
#elif defined(PUB_BAD_QUOTA)
#define SCHEDULING "{\"quotas\": [{\"name\": \"uploads\", \"limit\": 0, \"per\": \"day\"}]}"
#elif defined(PUB_UNKNOWN_FIELD)
#define SCHEDULING "{\"quota\": []}"
#endif

#ifdef PUB_OLD_SIZE
#define PUBLISHER_SIZE offsetof(rf_publisher_type, scheduling_json)
#else
#define PUBLISHER_SIZE sizeof(rf_publisher_type)
#endif

static const rf_publisher_type kPublishers[] = {{
    .struct_size = PUBLISHER_SIZE,
    .name = PH_PLUGIN_NAME ".publish",
    .platform = "phtest",
    .summary = "A test publisher",
    .create = create_instance,
    .destroy = destroy_instance,
    .prepare = post_call,
    .start = post_call,
    .upload = session_call,
    .finalize = session_call,
    .poll = session_call,
    .reconcile = session_call,
    .scheduling_json = SCHEDULING,
}};

static const rf_plugin kPlugin = {
    .struct_size = sizeof(rf_plugin),
    .abi_major = RF_ABI_MAJOR,
    .abi_minor = RF_ABI_MINOR,
    .name = PH_PLUGIN_NAME,
    .version = "0.1.0",
    .license = "Apache-2.0",
    .summary = "Publisher scheduling rules",
    .publisher_types = kPublishers,
    .publisher_type_count = 1,
};

RF_EXPORT const rf_plugin* reelflow_plugin_entry(uint16_t host_major, uint16_t host_minor) {
  (void)host_major;
  (void)host_minor;
  return &kPlugin;
}
