// ttest: trigger types for the host-side tests (plugin_trigger_test.cpp), written with the SDK.
//
// ttest.fifo    waits on a FIFO (option `path`) and obeys one line at a time, so several lines
//               written at once need several on_readable rounds:
//                 emit KEY JSON       host.emit(JSON, KEY); KEY "-" is the empty key
//                 null-json KEY       emit with a NULL trigger JSON
//                 null-key            emit with a NULL key
//                 long-key            emit with a 5000-byte key
//                 thread KEY          emit from another thread (joined before returning)
//                 hold                stop reading: the descriptor stays readable
//               Every refused emit is logged by the plugin as "refused: KEY".
// ttest.ticker  a timer: `count` events 'tick:N' every `interval`, counting down; `fail_start`
//               makes start fail, `emit_at_start` emits 'start:1' from start.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <reelflow/plugin.hpp>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

namespace json = reelflow::json;
namespace option = reelflow::option;

class Fifo {
 public:
  Fifo(const reelflow::TriggerHost& host, std::string_view, std::string_view options_json)
      : host_(host) {
    auto options = json::Object::parse(options_json);
    const std::string path = options ? options->get_string("path").value_or("") : "";
    read_fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (read_fd_ < 0) throw std::runtime_error("cannot open " + path);
    // A writer of our own keeps the FIFO from reporting hang-up when the test's writer closes.
    write_fd_ = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  }
  ~Fifo() {
    ::close(read_fd_);
    if (write_fd_ >= 0) ::close(write_fd_);
  }
  Fifo(const Fifo&) = delete;
  Fifo& operator=(const Fifo&) = delete;

  int fd() const { return read_fd_; }

  void on_readable() {
    if (holding_) return;
    std::string line;
    char c = 0;
    while (true) {
      const ssize_t got = ::read(read_fd_, &c, 1);
      if (got == 1) {
        if (c == '\n') break;
        line += c;
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      break;  // EAGAIN (the rest of the line comes later) or end of file
    }
    pending_ += line;
    if (c != '\n') return;
    obey(std::exchange(pending_, std::string()));
  }

 private:
  void obey(const std::string& line) {
    const auto space = line.find(' ');
    const std::string command = line.substr(0, space);
    const std::string rest = space == std::string::npos ? "" : line.substr(space + 1);
    const rf_trigger_host* raw = host_.raw();
    if (command == "emit") {
      const auto split = rest.find(' ');
      std::string key = rest.substr(0, split);
      if (key == "-") key.clear();
      report(host_.emit(rest.substr(split + 1), key), key);
    } else if (command == "null-json") {
      report(raw->emit(raw, nullptr, rest.c_str()) == 0, rest);
    } else if (command == "null-key") {
      report(raw->emit(raw, "{}", nullptr) == 0, "(null)");
    } else if (command == "long-key") {
      report(host_.emit("{}", std::string(5000, 'k')), "long");
    } else if (command == "thread") {
      bool accepted = true;
      std::thread([&] { accepted = host_.emit(R"({"from":"thread"})", rest); }).join();
      report(accepted, rest);
    } else if (command == "hold") {
      holding_ = true;
    }
  }

  void report(bool accepted, const std::string& key) {
    if (!accepted) host_.info("refused: " + key);
  }

  reelflow::TriggerHost host_;
  int read_fd_ = -1;
  int write_fd_ = -1;
  std::string pending_;
  bool holding_ = false;
};

class Ticker {
 public:
  Ticker(const reelflow::TriggerHost& host, std::string_view, std::string_view options_json)
      : host_(host) {
    auto options = json::Object::parse(options_json);
    if (!options) throw std::runtime_error("options are not an object");
    if (options->get_bool("fail_start").value_or(false)) throw std::runtime_error("asked to fail");
    remaining_ = options->get_int("count").value_or(3);
    interval_ms_ = static_cast<std::int64_t>(options->get_double("interval").value_or(0) * 1000);
    if (options->get_bool("emit_at_start").value_or(false)) {
      host_.emit(json::ObjectBuilder().add("event", "start"), "start:1");
    }
  }

  std::int64_t next_timeout() const { return remaining_ > 0 ? interval_ms_ : -1; }

  void on_timer() {
    const std::int64_t tick = remaining_--;
    host_.emit(json::ObjectBuilder().add("event", "tick").add("n", tick),
               "tick:" + std::to_string(tick));
  }

 private:
  reelflow::TriggerHost host_;
  std::int64_t remaining_ = 0;
  std::int64_t interval_ms_ = 0;
};

constexpr rf_option kFifoOptions[] = {
    option::path("path", reelflow::no_default, "The FIFO to read commands from.").required(),
};

constexpr rf_option kTickerOptions[] = {
    option::duration("interval", "0", "Time between ticks."),
    option::integer("count", "3", "How many ticks.").min(0),
    option::boolean("fail_start", "false", "Make start fail."),
    option::boolean("emit_at_start", "false", "Emit start:1 from start."),
};

constexpr rf_trigger_type kTriggerTypes[] = {
    reelflow::trigger_type<Fifo>({.name = "ttest.fifo", .summary = "Commands from a FIFO"},
                                 kFifoOptions),
    reelflow::trigger_type<Ticker>({.name = "ttest.ticker", .summary = "Ticks"}, kTickerOptions),
};

constexpr rf_plugin kPlugin = reelflow::plugin(
    {.name = "ttest", .version = "0.0.1", .license = "Apache-2.0", .summary = "Trigger tests"},
    kTriggerTypes);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
