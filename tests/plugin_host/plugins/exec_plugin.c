/* The executor's test plugin: step types that use every rf_host function and every way a run can
   end. The constants below are shared with executor_test.cpp by value. */
#include <pthread.h>
#include <reelflow/plugin.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SECRET_NAME "api_key"
#define SECRET_VALUE "s3cret-value"

typedef struct instance {
  const rf_host* host;
  int ordinal; /* 1 for the first instance created in this process, 2 for the next, ... */
  char config[512];
  atomic_int cancel_requested;
} instance;

static atomic_int live_instances;
static atomic_int created_instances;

static void* create_instance(const rf_host* host, const char* config_json) {
  if (strstr(config_json, "\"fail_create\"") != NULL) {
    host->log(NULL, RF_LOG_ERROR, "phtest_exec: refusing to create: fail_create is set");
    return NULL;
  }
  instance* self = calloc(1, sizeof(instance));
  if (self == NULL) return NULL;
  self->host = host;
  self->ordinal = atomic_fetch_add(&created_instances, 1) + 1;
  snprintf(self->config, sizeof(self->config), "%s", config_json);
  atomic_fetch_add(&live_instances, 1);
  host->log(NULL, RF_LOG_DEBUG, "phtest_exec: instance created");
  return self;
}

static void destroy_instance(void* self) {
  atomic_fetch_sub(&live_instances, 1);
  free(self);
}

static void cancel_instance(void* self) { atomic_store(&((instance*)self)->cancel_requested, 1); }

static void sleep_a_millisecond(void) {
  struct timespec pause = {0, 1000000};
  nanosleep(&pause, NULL);
}

/* Uses every host function once and reports what it saw as its output. */
static rf_status run_everything(void* self_, rf_run* run, const char* options_json,
                                const char* context_json) {
  instance* self = self_;
  const rf_host* host = self->host;
  host->log(run, RF_LOG_DEBUG, "debug line");
  host->log(run, RF_LOG_INFO, "info line");
  host->log(run, RF_LOG_WARN, "warn line");
  host->log(run, RF_LOG_ERROR, "error line");
  host->progress(run, 0.5, "halfway");
  host->progress(run, -1, NULL);

  const char* dir = host->artifact_dir(run);
  char artifact[1024];
  snprintf(artifact, sizeof(artifact), "%s/artifact.txt", dir);
  FILE* file = fopen(artifact, "w");
  int artifact_written = file != NULL && fputs("made by phtest_exec\n", file) >= 0;
  if (file != NULL && fclose(file) != 0) artifact_written = 0;

  long secret_length = host->secret(run, SECRET_NAME, NULL, 0);
  char too_small[4] = "zzz";
  long too_small_result = host->secret(run, SECRET_NAME, too_small, sizeof(too_small));
  char secret[64] = "";
  host->secret(run, SECRET_NAME, secret, sizeof(secret));
  long missing_secret = host->secret(run, "no_such_secret", secret + 32, 16);

  char counter[32] = "";
  long counter_length = host->state_get(run, "counter", counter, sizeof(counter));
  long before = counter_length >= 0 ? atol(counter) : 0;
  char next[32];
  snprintf(next, sizeof(next), "%ld", before + 1);
  int set_result = host->state_set(run, "counter", next);
  int delete_result = host->state_set(run, "obsolete", NULL);

  char output[8192];
  snprintf(output, sizeof(output),
           "{\"artifact\":\"%s\",\"artifact_written\":%s,\"secret_length\":%ld,"
           "\"too_small_result\":%ld,\"too_small_untouched\":%s,\"secret_matches\":%s,"
           "\"missing_secret\":%ld,\"counter_before\":%ld,\"state_set\":%d,\"state_delete\":%d,"
           "\"cancelled\":%d,\"instance\":%d,\"config\":%s,\"options\":%s,\"context\":%s}",
           artifact, artifact_written ? "true" : "false", secret_length, too_small_result,
           strcmp(too_small, "zzz") == 0 ? "true" : "false",
           strcmp(secret, SECRET_VALUE) == 0 ? "true" : "false", missing_secret, before, set_result,
           delete_result, host->cancelled(run), self->ordinal, self->config, options_json,
           context_json);
  if (host->set_output(run, output) != 0) {
    host->fail(run, "phtest_exec.everything: the host rejected a valid output");
    return RF_STATUS_ERROR;
  }
  return RF_STATUS_OK;
}

static rf_status run_fail_with_message(void* self_, rf_run* run, const char* options_json,
                                       const char* context_json) {
  instance* self = self_;
  (void)options_json;
  (void)context_json;
  self->host->fail(run, "cannot open input.mp4: no such file");
  return RF_STATUS_ERROR;
}

static rf_status run_fail_silently(void* self, rf_run* run, const char* options_json,
                                   const char* context_json) {
  (void)self;
  (void)run;
  (void)options_json;
  (void)context_json;
  return RF_STATUS_ERROR;
}

static rf_status run_retry_silently(void* self, rf_run* run, const char* options_json,
                                    const char* context_json) {
  (void)self;
  (void)run;
  (void)options_json;
  (void)context_json;
  return RF_STATUS_RETRY;
}

static rf_status run_unknown_status(void* self, rf_run* run, const char* options_json,
                                    const char* context_json) {
  (void)self;
  (void)run;
  (void)options_json;
  (void)context_json;
  return (rf_status)42;
}

/* A valid object, then an array and broken JSON: both refused, the object stays. */
static rf_status run_bad_output(void* self_, rf_run* run, const char* options_json,
                                const char* context_json) {
  instance* self = self_;
  (void)options_json;
  (void)context_json;
  int first = self->host->set_output(run, "{\"kept\":true}");
  int array = self->host->set_output(run, "[1,2]");
  int broken = self->host->set_output(run, "{\"broken\":");
  int null_text = self->host->set_output(run, NULL);
  char line[128];
  snprintf(line, sizeof(line), "set_output results: %d %d %d %d", first, array, broken, null_text);
  self->host->log(run, RF_LOG_INFO, line);
  return RF_STATUS_OK;
}

/* Waits for its cancel callback; gives up after 10 s so a broken cancel fails instead of hangs. */
static rf_status run_wait_for_cancel_callback(void* self_, rf_run* run, const char* options_json,
                                              const char* context_json) {
  instance* self = self_;
  (void)options_json;
  (void)context_json;
  atomic_store(&self->cancel_requested, 0);
  self->host->progress(run, 0, "waiting");
  for (int i = 0; i < 10000; ++i) {
    if (atomic_load(&self->cancel_requested)) {
      self->host->set_output(run, "{\"noticed\":\"cancel callback\"}");
      return RF_STATUS_CANCELLED;
    }
    sleep_a_millisecond();
  }
  self->host->fail(run, "never cancelled");
  return RF_STATUS_ERROR;
}

/* Has no cancel callback: relies on rf_host.cancelled. */
static rf_status run_wait_for_host_cancel(void* self_, rf_run* run, const char* options_json,
                                          const char* context_json) {
  instance* self = self_;
  (void)options_json;
  (void)context_json;
  self->host->progress(run, 0, "waiting");
  for (int i = 0; i < 10000; ++i) {
    if (self->host->cancelled(run)) {
      self->host->set_output(run, "{\"noticed\":\"host\"}");
      return RF_STATUS_CANCELLED;
    }
    sleep_a_millisecond();
  }
  self->host->fail(run, "never cancelled");
  return RF_STATUS_ERROR;
}

typedef struct thread_job {
  const rf_host* host;
  rf_run* run;
} thread_job;

static void* report_from_thread(void* job_) {
  thread_job* job = job_;
  job->host->log(job->run, RF_LOG_INFO, "from a plugin thread");
  job->host->progress(job->run, 1, "done");
  job->host->set_output(job->run, "{\"thread\":true}");
  return NULL;
}

/* plugin.h: every rf_host function may be called from any thread during the run. */
static rf_status run_from_thread(void* self_, rf_run* run, const char* options_json,
                                 const char* context_json) {
  instance* self = self_;
  (void)options_json;
  (void)context_json;
  thread_job job = {self->host, run};
  pthread_t threads[4];
  for (int i = 0; i < 4; ++i) pthread_create(&threads[i], NULL, report_from_thread, &job);
  for (int i = 0; i < 4; ++i) pthread_join(threads[i], NULL);
  return RF_STATUS_OK;
}

static rf_status run_publish(void* self_, rf_run* run, const char* options_json,
                             const char* context_json) {
  instance* self = self_;
  (void)options_json;
  (void)context_json;
  self->host->set_output(run, "{\"published\":true}");
  return RF_STATUS_OK;
}

static rf_status reconcile_publish(void* self_, rf_run* run, const char* options_json,
                                   const char* context_json, const char* intent_json) {
  instance* self = self_;
  char output[4096];
  snprintf(output, sizeof(output), "{\"reconciled\":%s,\"options\":%s,\"context\":%s}", intent_json,
           options_json, context_json);
  self->host->set_output(run, output);
  return RF_STATUS_OK;
}

/* How many instances exist and were ever created in this process (the instance-lifetime test). */
static rf_status run_counters(void* self_, rf_run* run, const char* options_json,
                              const char* context_json) {
  instance* self = self_;
  char output[128];
  (void)options_json;
  (void)context_json;
  snprintf(output, sizeof(output), "{\"live\":%d,\"created\":%d}", atomic_load(&live_instances),
           atomic_load(&created_instances));
  self->host->set_output(run, output);
  return RF_STATUS_OK;
}

/* rf_host.call (ABI 1.3): asks "test.service" with the options as the request, into a buffer of
   CALL_FIRST_BUFFER bytes, and again into one that fits when the answer did not. Reports both
   results, the answer, and what the buffer held after a failure. */
#define CALL_FIRST_BUFFER 128

static rf_status run_call(void* self_, rf_run* run, const char* options_json,
                          const char* context_json) {
  instance* self = self_;
  (void)context_json;
  char first[CALL_FIRST_BUFFER] = "";
  long first_length = self->host->call(run, "test.service", options_json, first, sizeof(first));
  long second_length = -2; /* not called */
  char* answer = first;
  char* grown = NULL;
  if (first_length >= (long)sizeof(first)) {
    grown = calloc((size_t)first_length + 1, 1);
    if (grown == NULL) return RF_STATUS_ERROR;
    second_length =
        self->host->call(run, "test.service", options_json, grown, (size_t)first_length + 1);
    answer = grown;
  }
  size_t size = strlen(answer) + 256;
  char* output = malloc(size);
  if (output == NULL) {
    free(grown);
    return RF_STATUS_ERROR;
  }
  if (first_length < 0) {
    snprintf(output, size, "{\"first\":%ld,\"failure\":%s}", first_length,
             first[0] != '\0' ? first : "null");
  } else {
    snprintf(output, size, "{\"first\":%ld,\"second\":%ld,\"answer\":%s}", first_length,
             second_length, answer);
  }
  int set = self->host->set_output(run, output);
  free(output);
  free(grown);
  return set == 0 ? RF_STATUS_OK : RF_STATUS_ERROR;
}

/* Requests and service names the host must refuse before any service sees them. Each result and
   the error the buffer then holds, as {"<case>": {"result": r, "failure": {...}}}. */
static rf_status run_call_refused(void* self_, rf_run* run, const char* options_json,
                                  const char* context_json) {
  instance* self = self_;
  (void)options_json;
  (void)context_json;
  static const struct {
    const char* label;
    const char* service;
    const char* request;
  } cases[] = {
      {"array", "test.service", "[1,2]"},     {"broken", "test.service", "{\"url\":"},
      {"null_request", "test.service", NULL}, {"text", "test.service", "\"links\""},
      {"bad_name", "Links Create", "{}"},     {"null_name", NULL, "{}"},
  };
  char output[4096] = "{";
  size_t used = 1;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
    char failure[512] = "";
    long result =
        self->host->call(run, cases[i].service, cases[i].request, failure, sizeof(failure));
    int written =
        snprintf(output + used, sizeof(output) - used, "%s\"%s\":{\"result\":%ld,\"failure\":%s}",
                 i > 0 ? "," : "", cases[i].label, result, failure[0] != '\0' ? failure : "null");
    if (written < 0 || (size_t)written >= sizeof(output) - used) return RF_STATUS_ERROR;
    used += (size_t)written;
  }
  /* A NULL run: nothing to ask, and no crash. */
  long no_run = self->host->call(NULL, "test.service", "{}", NULL, 0);
  snprintf(output + used, sizeof(output) - used, ",\"null_run\":%ld}", no_run);
  return self->host->set_output(run, output) == 0 ? RF_STATUS_OK : RF_STATUS_ERROR;
}

#define STEP(step, run_fn, cancel_fn, flags, reconcile_fn)                                    \
  {                                                                                           \
    sizeof(rf_step_type), "phtest_exec." step, step, flags, NULL, 0, create_instance, run_fn, \
        cancel_fn, destroy_instance, reconcile_fn                                             \
  }

static const rf_step_type step_types[] = {
    STEP("everything", run_everything, NULL, RF_STEP_RERUN_SAFE, NULL),
    STEP("fail_with_message", run_fail_with_message, NULL, 0, NULL),
    STEP("fail_silently", run_fail_silently, NULL, 0, NULL),
    STEP("retry_silently", run_retry_silently, NULL, 0, NULL),
    STEP("unknown_status", run_unknown_status, NULL, 0, NULL),
    STEP("bad_output", run_bad_output, NULL, 0, NULL),
    STEP("wait_for_cancel_callback", run_wait_for_cancel_callback, cancel_instance, 0, NULL),
    STEP("wait_for_host_cancel", run_wait_for_host_cancel, NULL, 0, NULL),
    STEP("from_thread", run_from_thread, NULL, 0, NULL),
    STEP("counters", run_counters, NULL, 0, NULL),
    STEP("call", run_call, NULL, 0, NULL),
    STEP("call_refused", run_call_refused, NULL, 0, NULL),
    STEP("publish", run_publish, NULL, RF_STEP_IRREVERSIBLE, reconcile_publish),
};

static const rf_plugin plugin = {
    sizeof(rf_plugin), RF_ABI_MAJOR, RF_ABI_MINOR,
    "phtest_exec",     "0.1.0",      "MIT",
    "executor tests",  step_types,   sizeof(step_types) / sizeof(step_types[0])};

RF_EXPORT const rf_plugin* reelflow_plugin_entry(uint16_t host_major, uint16_t host_minor) {
  (void)host_major;
  (void)host_minor;
  return &plugin;
}
