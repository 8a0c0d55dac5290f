// Loading a plugin, in order: check the ELF file, dlopen, find the entry symbol, call it, negotiate
// the ABI, copy the descriptor into host-owned values (size-tagged structs read with the plugin's
// own sizes), check every name and option table, refuse duplicates, and only then publish it.
//
// What we can and cannot defend against in-process: everything the plugin hands us is read through
// ProbedMemory, so a descriptor, array or string pointer that points at unmapped memory is reported
// as an error instead of crashing the host, and a truncated or foreign file is refused before
// dlopen touches it. Code is another matter: a plugin whose shared-object constructors or entry
// function crash (or never return) take this process with them. That cannot be caught here; it is
// what the worker processes are for, where such a crash fails one step instead of the daemon.
#include "plugin_host/registry.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>
#include <type_traits>

#include "plugin_host/options.hpp"
#include "plugin_host/publish_limits.hpp"
#include "plugin_host/publish_options.hpp"

namespace reelflow::plugin_host {

namespace fs = std::filesystem;

namespace {

// The ABI 1.0 layouts: the end of each struct's last field as ABI 1.0 defined it (sizeof would
// add tail padding). A plugin built for minor 0 passes at least these sizes; later minors only
// append fields after them.
constexpr uint32_t kPluginSizeAbi1_0 =
    offsetof(rf_plugin, step_type_count) + sizeof(rf_plugin::step_type_count);
constexpr uint32_t kStepTypeSizeAbi1_0 =
    offsetof(rf_step_type, reconcile) + sizeof(rf_step_type::reconcile);
constexpr uint32_t kOptionSizeAbi1_0 =
    offsetof(rf_option, item_type) + sizeof(rf_option::item_type);
// ABI 1.1 appended trigger_types and trigger_type_count to rf_plugin, and added rf_trigger_type.
constexpr uint32_t kPluginSizeAbi1_1 =
    offsetof(rf_plugin, trigger_type_count) + sizeof(rf_plugin::trigger_type_count);
constexpr uint32_t kTriggerTypeSizeAbi1_1 =
    offsetof(rf_trigger_type, stop) + sizeof(rf_trigger_type::stop);

// ABI 1.2 appended publisher_types and publisher_type_count to rf_plugin, checkpoint to rf_host,
// and added rf_publisher_type (its last field, scheduling_json, may be missing: no rules).
constexpr uint32_t kPublisherTypeMinSize =
    offsetof(rf_publisher_type, refresh) + sizeof(rf_publisher_type::refresh);
// ABI 1.3 appended call to rf_host only. The host fills that table, so nothing changes in what is
// read from a plugin: plugins of minors 0 to 2 load as before and simply never see the field.

// The smallest struct the host accepts. Trailing fields whose zero value means "absent"
// (rf_step_type.reconcile: none; rf_option.item_type: any) may be missing, and are then read as
// zero exactly like fields a plugin of an older minor lacks. Everything before them is required.
constexpr uint32_t kPluginMinSize = kPluginSizeAbi1_0;
constexpr uint32_t kStepTypeMinSize = offsetof(rf_step_type, reconcile);
constexpr uint32_t kOptionMinSize = offsetof(rf_option, item_type);
// Every field of rf_trigger_type came with it: a trigger type always has the whole 1.1 layout.
constexpr uint32_t kTriggerTypeMinSize = kTriggerTypeSizeAbi1_1;
static_assert(sizeof(rf_option_type) == sizeof(int));
static_assert(kStepTypeMinSize <= kStepTypeSizeAbi1_0 && kOptionMinSize <= kOptionSizeAbi1_0);
static_assert(sizeof(rf_plugin) >= kPluginSizeAbi1_1 && kPluginSizeAbi1_1 > kPluginSizeAbi1_0 &&
              sizeof(rf_step_type) >= kStepTypeSizeAbi1_0 &&
              sizeof(rf_option) >= kOptionSizeAbi1_0 &&
              sizeof(rf_trigger_type) >= kTriggerTypeSizeAbi1_1);

// The first three fields of rf_plugin (struct_size, abi_major, abi_minor) and `name` right after
// them are read before the ABI is known to match, so every ABI major must keep them where they are.
constexpr uint32_t kPluginHeaderSize = offsetof(rf_plugin, name);

// Bigger than any struct or table a plugin could mean; anything beyond is garbage.
constexpr uint32_t kMaxStructSize = 64 * 1024;
constexpr std::size_t kMaxArrayCount = 4096;
constexpr std::size_t kMaxIdentifierLength = 64;
constexpr std::size_t kMaxLabelLength = 256;  // version, license
constexpr std::size_t kMaxTextLength = 64 * 1024;
constexpr std::size_t kMaxEnumValues = 1024;

std::string abi_text(unsigned major, unsigned minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

bool is_identifier(std::string_view text) {
  if (text.empty() || text.size() > kMaxIdentifierLength) return false;
  if (text.front() < 'a' || text.front() > 'z') return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Copies bytes out of memory the plugin points us at without trusting the pointer: the bytes go
// through a pipe, so an unmapped address makes write(2) fail with EFAULT instead of raising
// SIGSEGV. Reads are split at page boundaries, the unit in which memory is mapped or not.
class ProbedMemory {
 public:
  ProbedMemory() {
    if (pipe2(fds_.data(), O_CLOEXEC) != 0) fds_ = {-1, -1};
  }
  ~ProbedMemory() {
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }
  ProbedMemory(const ProbedMemory&) = delete;
  ProbedMemory& operator=(const ProbedMemory&) = delete;

  bool usable() const { return fds_[0] >= 0; }

  // False when any byte of [from, from + size) is not readable.
  bool copy(const void* from, void* to, std::size_t size) {
    if (from == nullptr) return false;
    auto* source = static_cast<const char*>(from);
    auto* target = static_cast<char*>(to);
    while (size > 0) {
      std::size_t chunk = std::min(size, bytes_to_page_end(source));
      if (!copy_chunk(source, target, chunk)) return false;
      source += chunk;
      target += chunk;
      size -= chunk;
    }
    return true;
  }

  template <typename T>
  bool copy_value(const void* from, T& to) {
    return copy(from, &to, sizeof(T));
  }

  // The NUL-terminated string at text, or nullopt when it is unreadable or longer than max_length.
  // Each page is probed through the pipe (one byte tells whether the page is mapped) and then
  // scanned in place up to the NUL, so nothing past the string's end is read.
  std::optional<std::string> string(const char* text, std::size_t max_length) {
    if (text == nullptr) return std::nullopt;
    std::string out;
    while (out.size() <= max_length) {
      char first = 0;
      if (!copy_chunk(text, &first, 1)) return std::nullopt;
      const char* page_end = text + bytes_to_page_end(text);
      for (; text < page_end; ++text) {
        if (*text == '\0') return out;
        if (out.size() == max_length) return std::nullopt;
        out.push_back(*text);
      }
    }
    return std::nullopt;
  }

 private:
  static std::size_t bytes_to_page_end(const void* address) {
    static const std::size_t page_size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    auto value = reinterpret_cast<std::uintptr_t>(address);
    return page_size - (value % page_size);
  }

  // chunk never crosses a page boundary and is at most one page (<= the pipe's capacity).
  bool copy_chunk(const char* source, char* target, std::size_t chunk) {
    ssize_t written;
    do {
      written = write(fds_[1], source, chunk);
    } while (written < 0 && errno == EINTR);
    if (written <= 0) return false;
    std::size_t pending = static_cast<std::size_t>(written);
    std::size_t got = 0;
    while (got < pending) {
      ssize_t n = read(fds_[0], target + got, pending - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;  // cannot happen with bytes in the pipe; do not loop forever
      got += static_cast<std::size_t>(n);
    }
    return pending == chunk;
  }

  std::array<int, 2> fds_{-1, -1};
};

std::string machine_name(unsigned machine) {
  switch (machine) {
    case EM_386:
      return "x86 (32-bit)";
    case EM_X86_64:
      return "x86-64";
    case EM_ARM:
      return "ARM (32-bit)";
    case EM_AARCH64:
      return "AArch64";
    case EM_PPC64:
      return "POWER (64-bit)";
    case EM_S390:
      return "s390x";
    case EM_RISCV:
      return "RISC-V";
    case EM_MIPS:
      return "MIPS";
    default:
      return "machine " + std::to_string(machine);
  }
}

// The ELF header of the object this code is linked into: its class, byte order and machine are
// what a plugin must match.
const ElfW(Ehdr) * host_elf_header() {
  Dl_info self{};
  if (dladdr(reinterpret_cast<const void*>(&machine_name), &self) == 0) return nullptr;
  return static_cast<const ElfW(Ehdr)*>(self.dli_fbase);
}

// Checks what dlopen checks badly or not at all, before dlopen sees the file: glibc reports an ELF
// for another machine as "No such file or directory", and maps a file truncated after its headers
// without complaint, then dies of SIGBUS touching the missing pages. nullopt when the file looks
// loadable; otherwise the reason. dlopen still has the last word.
std::optional<std::string> check_elf_file(const fs::path& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::system_category().message(errno);
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  auto read_at = [fd](void* to, std::size_t size, off_t offset) {
    ssize_t n = pread(fd, to, size, offset);
    return n >= 0 && static_cast<std::size_t>(n) == size;
  };
  struct stat file_status {};
  if (fstat(fd, &file_status) != 0) return std::system_category().message(errno);
  if (!S_ISREG(file_status.st_mode)) return std::string("not a regular file");
  const auto file_size = static_cast<std::uint64_t>(file_status.st_size);

  unsigned char ident[EI_NIDENT] = {};
  if (!read_at(ident, sizeof(ident), 0) || std::memcmp(ident, ELFMAG, SELFMAG) != 0) {
    return std::string("not an ELF shared object");
  }
  const ElfW(Ehdr)* host = host_elf_header();
  if (host != nullptr && ident[EI_CLASS] != host->e_ident[EI_CLASS]) {
    return std::string(ident[EI_CLASS] == ELFCLASS32 ? "built for a 32-bit machine"
                                                     : "built for a 64-bit machine") +
           ", this host is " + machine_name(host->e_machine);
  }
  if (host != nullptr && ident[EI_DATA] != host->e_ident[EI_DATA]) {
    return std::string("built for a machine of the other byte order");
  }
  ElfW(Ehdr) header{};
  if (!read_at(&header, sizeof(header), 0)) {
    return "file is truncated: " + std::to_string(file_size) + " bytes, shorter than an ELF header";
  }
  if (host != nullptr && header.e_machine != host->e_machine) {
    return "built for " + machine_name(header.e_machine) + ", this host is " +
           machine_name(host->e_machine);
  }
  if (header.e_type != ET_DYN) return std::string("not a shared object");
  if (header.e_phentsize != sizeof(ElfW(Phdr)) || header.e_phnum == 0 ||
      header.e_phnum == PN_XNUM) {
    return std::string("malformed ELF program headers");
  }
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    ElfW(Phdr) segment{};
    if (!read_at(&segment, sizeof(segment),
                 static_cast<off_t>(header.e_phoff + i * sizeof(ElfW(Phdr))))) {
      return "file is truncated: " + std::to_string(file_size) +
             " bytes, its program headers end beyond that";
    }
    if (segment.p_type != PT_LOAD) continue;
    const std::uint64_t end = static_cast<std::uint64_t>(segment.p_offset) + segment.p_filesz;
    if (end > file_size) {
      return "file is truncated: " + std::to_string(file_size) + " bytes, but its segments need " +
             std::to_string(end);
    }
  }
  return std::nullopt;
}

// dlerror() usually starts with the file name; our messages already do.
std::string load_error_text(const fs::path& path, const fs::path& opened) {
  const char* raw = dlerror();
  std::string text = raw != nullptr ? raw : "unknown dlopen error";
  for (const std::string& prefix : {opened.string() + ": ", path.string() + ": "}) {
    if (text.starts_with(prefix)) {
      text.erase(0, prefix.size());
      break;
    }
  }
  return text;
}

// Reads one plugin's descriptor into a PluginInfo. Every message starts with the file, then names
// the plugin, the step or trigger type and the option it is about.
class DescriptorReader {
 public:
  DescriptorReader(const fs::path& path, ProbedMemory& memory)
      : where_(path.string()), memory_(memory) {}

  Result<std::unique_ptr<PluginInfo>> read(const rf_plugin* descriptor) {
    struct Header {
      uint32_t struct_size;
      uint16_t abi_major;
      uint16_t abi_minor;
    } header{};
    static_assert(sizeof(Header) == kPluginHeaderSize);
    if (!memory_.copy_value(descriptor, header)) {
      return fail(where_ + ": the plugin's descriptor is not readable memory");
    }
    if (header.struct_size < kPluginHeaderSize || header.struct_size > kMaxStructSize) {
      return fail(where_ + ": malformed plugin descriptor: struct_size is " +
                  std::to_string(header.struct_size) + " (ABI " +
                  abi_text(RF_ABI_MAJOR, RF_ABI_MINOR) + " expects at least " +
                  std::to_string(kPluginMinSize) + ")");
    }
    if (header.abi_major != RF_ABI_MAJOR || header.abi_minor > RF_ABI_MINOR) {
      return fail(abi_mismatch(descriptor, header.struct_size, header.abi_major, header.abi_minor));
    }
    if (header.struct_size < kPluginMinSize) {
      return fail(where_ + ": malformed plugin descriptor: struct_size is " +
                  std::to_string(header.struct_size) + " but an ABI " +
                  abi_text(header.abi_major, header.abi_minor) + " rf_plugin has at least " +
                  std::to_string(kPluginMinSize) + " bytes");
    }
    rf_plugin plugin{};
    if (!read_sized(descriptor, header.struct_size, plugin)) {
      return fail(where_ + ": the plugin's descriptor is not readable memory");
    }

    auto info = std::make_unique<PluginInfo>();
    info->abi_major = header.abi_major;
    info->abi_minor = header.abi_minor;
    auto name = memory_.string(plugin.name, kMaxIdentifierLength);
    if (!name || !is_identifier(*name)) {
      return fail(where_ + ": plugin name " + describe_string(plugin.name, kMaxIdentifierLength) +
                  " is not valid: it must match [a-z][a-z0-9_]* (at most 64 characters)");
    }
    info->name = *name;
    const std::string context = where_ + ": plugin '" + info->name + "'";
    auto version = memory_.string(plugin.version, kMaxLabelLength);
    if (!version || version->empty()) {
      return fail(context + ": version is missing or not a readable string of at most " +
                  std::to_string(kMaxLabelLength) +
                  " bytes (set rf_plugin.version, e.g. \"1.0.0\")");
    }
    info->version = *version;
    auto license = memory_.string(plugin.license, kMaxLabelLength);
    if (!license || license->empty()) {
      return fail(context + ": license is missing or not a readable string of at most " +
                  std::to_string(kMaxLabelLength) +
                  " bytes (set rf_plugin.license to an SPDX identifier)");
    }
    info->license = *license;
    if (auto summary = read_optional_text(plugin.summary, context, "summary"); summary) {
      info->summary = std::move(*summary);
    } else {
      return tl::unexpected(summary.error());
    }

    auto step_types = read_step_types(plugin, *info, context);
    if (!step_types) return tl::unexpected(step_types.error());
    info->step_types = std::move(*step_types);

    // Trigger types came with minor 1. A plugin that declares minor 0 has none, whatever the bytes
    // after step_type_count hold (read_sized already zeroed what its struct_size does not cover).
    if (header.abi_minor < 1) {
      plugin.trigger_types = nullptr;
      plugin.trigger_type_count = 0;
    }
    auto trigger_types = read_trigger_types(plugin, *info, context);
    if (!trigger_types) return tl::unexpected(trigger_types.error());
    info->trigger_types = std::move(*trigger_types);

    // Publisher types came with minor 2, and each becomes a step type of the same name.
    if (header.abi_minor < 2) {
      plugin.publisher_types = nullptr;
      plugin.publisher_type_count = 0;
    }
    auto publisher_types = read_publisher_types(plugin, *info, context);
    if (!publisher_types) return tl::unexpected(publisher_types.error());
    info->publisher_types = std::move(*publisher_types);
    for (const auto& publisher : info->publisher_types) {
      for (const auto& step : info->step_types) {
        if (step.name == publisher.name) {
          return fail(context + ": '" + publisher.name +
                      "' is declared both as a step type and as a publisher type");
        }
      }
      StepTypeInfo step;
      step.name = publisher.name;
      step.summary = publisher.summary;
      step.flags = RF_STEP_IRREVERSIBLE;
      step.options = publish_options(publisher.options);
      info->step_types.push_back(std::move(step));  // `publisher` is set once the plugin is kept
    }
    return info;
  }

 private:
  // The message for a plugin built for another ABI. Its name is read from where every ABI keeps
  // it, when it is readable; otherwise the message goes without it.
  std::string abi_mismatch(const rf_plugin* descriptor, uint32_t struct_size, unsigned major,
                           unsigned minor) {
    std::string who = "plugin";
    if (struct_size >= offsetof(rf_plugin, name) + sizeof(rf_plugin::name)) {
      const char* name_pointer = nullptr;
      if (memory_.copy_value(reinterpret_cast<const char*>(descriptor) + offsetof(rf_plugin, name),
                             name_pointer)) {
        auto name = memory_.string(name_pointer, kMaxIdentifierLength);
        if (name && is_identifier(*name)) who = "plugin '" + *name + "'";
      }
    }
    std::string message = where_ + ": " + who + " was built for ABI " + abi_text(major, minor) +
                          " but this host speaks ABI " + abi_text(RF_ABI_MAJOR, RF_ABI_MINOR);
    if (major != RF_ABI_MAJOR) return message + " (major versions must match)";
    return message + " (a plugin may be built for an older minor version, not a newer one; " +
           "rebuild it against this host's plugin.h or upgrade reelflow)";
  }

  // Copies a size-tagged struct of plugin_size bytes into a zero-initialised host struct: fields
  // the plugin's layout lacks stay zero, fields the host does not know are ignored.
  template <typename T>
  bool read_sized(const void* from, uint32_t plugin_size, T& to) {
    std::vector<char> bytes(plugin_size);
    if (!memory_.copy(from, bytes.data(), bytes.size())) return false;
    to = T{};
    std::memcpy(&to, bytes.data(), std::min<std::size_t>(plugin_size, sizeof(T)));
    to.struct_size = sizeof(T);
    return true;
  }

  // Reads the struct_size of an array's first element: the stride of the whole array. Every
  // element must carry the same size, as it does in any array a C compiler lays out.
  // since_minor: the ABI minor that introduced the struct, for the message.
  Result<uint32_t> read_stride(const void* array, uint32_t min_size, const std::string& context,
                               const char* what, unsigned since_minor = 0) {
    uint32_t stride = 0;
    if (!memory_.copy_value(array, stride)) {
      return fail(context + ": the " + std::string(what) + " array is not readable memory");
    }
    if (stride < min_size || stride > kMaxStructSize) {
      return fail(context + ": malformed " + what + ": struct_size is " + std::to_string(stride) +
                  " but ABI " + abi_text(RF_ABI_MAJOR, since_minor) + " needs at least " +
                  std::to_string(min_size) + " bytes");
    }
    return stride;
  }

  Result<std::string> read_optional_text(const char* text, const std::string& context,
                                         const char* field) {
    if (text == nullptr) return std::string();
    auto value = memory_.string(text, kMaxTextLength);
    if (!value) {
      return fail(context + ": " + field + " is not a readable string of at most " +
                  std::to_string(kMaxTextLength) + " bytes");
    }
    return *value;
  }

  // For messages: the name as far as it can be read, or what is wrong with it.
  std::string describe_string(const char* text, std::size_t max_length) {
    if (text == nullptr) return "(null)";
    auto value = memory_.string(text, max_length);
    if (!value) return "(unreadable or longer than " + std::to_string(max_length) + " bytes)";
    std::string quoted = "'";
    for (char c : *value) {
      quoted += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    }
    return quoted + "'";
  }

  // An array of size-tagged descriptors (step or trigger types): its pointer and count checked,
  // every entry read with the first entry's stride by read_one, and duplicate names refused.
  // `what` names an entry in messages ("step type"); `field` and `count_field` name the
  // rf_plugin members ("step_types", "step_type_count"); since_minor is the ABI minor that
  // introduced the struct (for read_stride's message).
  template <typename Info, typename ReadOne>
  Result<std::vector<Info>> read_entries(const void* array, std::size_t count, uint32_t min_size,
                                         const char* struct_name, const char* what,
                                         const char* field, const char* count_field,
                                         const std::string& context, ReadOne read_one,
                                         unsigned since_minor = 0) {
    std::vector<Info> out;
    if (count == 0) return out;
    if (array == nullptr || count > kMaxArrayCount) {
      return fail(context + ": " + field + " must point to an array of " + count_field + " (" +
                  std::to_string(count) + ") entries, at most " + std::to_string(kMaxArrayCount));
    }
    auto stride = read_stride(array, min_size, context, struct_name, since_minor);
    if (!stride) return tl::unexpected(stride.error());
    auto* base = reinterpret_cast<const char*>(array);
    for (std::size_t i = 0; i < count; ++i) {
      auto entry = read_one(base + i * *stride, *stride, i);
      if (!entry) return tl::unexpected(entry.error());
      for (const auto& earlier : out) {
        if (earlier.name == entry->name) {
          return fail(context + ": " + what + " '" + entry->name + "' is declared twice");
        }
      }
      out.push_back(std::move(*entry));
    }
    return out;
  }

  Result<std::vector<StepTypeInfo>> read_step_types(const rf_plugin& plugin, const PluginInfo& info,
                                                    const std::string& context) {
    return read_entries<StepTypeInfo>(
        plugin.step_types, plugin.step_type_count, kStepTypeMinSize, "rf_step_type", "step type",
        "step_types", "step_type_count", context,
        [&](const char* address, uint32_t stride, std::size_t index) {
          return read_step_type(address, stride, index, info, context);
        });
  }

  // What every entry of a descriptor array shares: its struct_size against the array's stride,
  // a host-sized copy of it into `raw`, and its name, "<plugin>.<part>". `what` names the entry in
  // messages ("trigger type"), `struct_name` its C type, `count_field` the rf_plugin count.
  template <typename Raw>
  Result<std::string> read_entry(const char* address, uint32_t stride, std::size_t index,
                                 const PluginInfo& info, const std::string& context,
                                 const char* what, const char* struct_name,
                                 const char* count_field, const char* part, Raw& raw) {
    const std::string entry = context + ": " + what + " #" + std::to_string(index + 1);
    const std::string hint = std::string(" (is ") + count_field + " right?)";
    uint32_t own_size = 0;
    if (!memory_.copy_value(address, own_size)) return fail(entry + " is not readable memory" + hint);
    if (own_size != stride) {
      return fail(entry + ": malformed " + struct_name + ": struct_size is " +
                  std::to_string(own_size) + " but the array's first entry says " +
                  std::to_string(stride) + hint);
    }
    if (!read_sized(address, stride, raw)) return fail(entry + " is not readable memory" + hint);
    auto name = memory_.string(raw.name, 2 * kMaxIdentifierLength + 1);
    std::string expected_prefix = info.name + ".";
    if (!name || !name->starts_with(expected_prefix) ||
        !is_identifier(std::string_view(*name).substr(expected_prefix.size()))) {
      return fail(entry + ": name " + describe_string(raw.name, 2 * kMaxIdentifierLength + 1) +
                  " is not valid: it must be '" + info.name + "." + part + "' with " + part +
                  " matching [a-z][a-z0-9_]*");
    }
    return *name;
  }

  Result<StepTypeInfo> read_step_type(const char* address, uint32_t stride, std::size_t index,
                                      const PluginInfo& info, const std::string& context) {
    StepTypeInfo step;
    auto name = read_entry(address, stride, index, info, context, "step type", "rf_step_type", "step_type_count",
                           "<step>", step.callbacks);
    if (!name) return tl::unexpected(name.error());
    const rf_step_type& raw = step.callbacks;
    step.name = std::move(*name);
    const std::string step_context = context + ": step type '" + step.name + "'";
    auto summary = read_optional_text(raw.summary, step_context, "summary");
    if (!summary) return tl::unexpected(summary.error());
    step.summary = std::move(*summary);
    step.flags = raw.flags;

    struct Callback {
      const char* field;
      const void* pointer;
      bool required;
    };
    const std::array<Callback, 5> callbacks{{
        {"create", reinterpret_cast<const void*>(raw.create), true},
        {"run", reinterpret_cast<const void*>(raw.run), true},
        {"destroy", reinterpret_cast<const void*>(raw.destroy), true},
        {"cancel", reinterpret_cast<const void*>(raw.cancel), false},
        {"reconcile", reinterpret_cast<const void*>(raw.reconcile), false},
    }};
    for (const auto& callback : callbacks) {
      if (callback.pointer == nullptr) {
        if (callback.required) return fail(step_context + ": " + callback.field + " is NULL");
        continue;
      }
      // A garbage pointer that lands in no loaded object would crash on the first call; one
      // inside some object we cannot tell from a real function.
      Dl_info where_it_is{};
      if (dladdr(callback.pointer, &where_it_is) == 0) {
        return fail(step_context + ": " + callback.field + " does not point into any loaded code");
      }
    }
    if (step.irreversible() && raw.reconcile == nullptr) {
      return fail(step_context +
                  ": is flagged RF_STEP_IRREVERSIBLE but has no reconcile callback (the engine "
                  "needs it to finish or verify an interrupted execution instead of repeating it)");
    }

    auto options = read_options(raw.options, raw.option_count, step_context);
    if (!options) return tl::unexpected(options.error());
    step.options = std::move(*options);
    return step;
  }

  Result<std::vector<TriggerTypeInfo>> read_trigger_types(const rf_plugin& plugin,
                                                          const PluginInfo& info,
                                                          const std::string& context) {
    return read_entries<TriggerTypeInfo>(
        plugin.trigger_types, plugin.trigger_type_count, kTriggerTypeMinSize, "rf_trigger_type",
        "trigger type", "trigger_types", "trigger_type_count", context,
        [&](const char* address, uint32_t stride, std::size_t index) {
          return read_trigger_type(address, stride, index, info, context);
        },
        1);
  }

  Result<TriggerTypeInfo> read_trigger_type(const char* address, uint32_t stride, std::size_t index,
                                            const PluginInfo& info, const std::string& context) {
    TriggerTypeInfo trigger;
    auto name = read_entry(address, stride, index, info, context, "trigger type", "rf_trigger_type", "trigger_type_count",
                           "<trigger>", trigger.callbacks);
    if (!name) return tl::unexpected(name.error());
    const rf_trigger_type& raw = trigger.callbacks;
    trigger.name = std::move(*name);
    const std::string trigger_context = context + ": trigger type '" + trigger.name + "'";
    auto summary = read_optional_text(raw.summary, trigger_context, "summary");
    if (!summary) return tl::unexpected(summary.error());
    trigger.summary = std::move(*summary);
    trigger.flags = raw.flags;

    auto pointer = [](auto function) { return reinterpret_cast<const void*>(function); };
    struct Callback {
      const char* field;
      const void* pointer;
    };
    const std::array<Callback, 6> callbacks{{
        {"start", pointer(raw.start)},
        {"stop", pointer(raw.stop)},
        {"fd", pointer(raw.fd)},
        {"on_readable", pointer(raw.on_readable)},
        {"next_timeout", pointer(raw.next_timeout)},
        {"on_timer", pointer(raw.on_timer)},
    }};
    for (const auto& callback : callbacks) {
      if (callback.pointer == nullptr) continue;
      Dl_info where_it_is{};
      if (dladdr(callback.pointer, &where_it_is) == 0) {
        return fail(trigger_context + ": " + callback.field +
                    " does not point into any loaded code");
      }
    }
    if (raw.start == nullptr) return fail(trigger_context + ": start is NULL");
    if (raw.stop == nullptr) return fail(trigger_context + ": stop is NULL");
    if (raw.fd != nullptr && raw.on_readable == nullptr) {
      return fail(trigger_context +
                  ": has fd but no on_readable callback (the host needs it to "
                  "tell the trigger that its descriptor is readable)");
    }
    if (raw.next_timeout != nullptr && raw.on_timer == nullptr) {
      return fail(trigger_context +
                  ": has next_timeout but no on_timer callback (the host needs "
                  "it to tell the trigger that its timeout expired)");
    }
    if (raw.fd == nullptr && raw.next_timeout == nullptr) {
      return fail(trigger_context +
                  ": has neither fd nor next_timeout, so nothing could ever wake it after start "
                  "(set fd + on_readable, next_timeout + on_timer, or both)");
    }

    auto options = read_options(raw.options, raw.option_count, trigger_context);
    if (!options) return tl::unexpected(options.error());
    trigger.options = std::move(*options);
    return trigger;
  }

  Result<std::vector<PublisherTypeInfo>> read_publisher_types(const rf_plugin& plugin,
                                                              const PluginInfo& info,
                                                              const std::string& context) {
    return read_entries<PublisherTypeInfo>(
        plugin.publisher_types, plugin.publisher_type_count, kPublisherTypeMinSize,
        "rf_publisher_type", "publisher type", "publisher_types", "publisher_type_count", context,
        [&](const char* address, uint32_t stride, std::size_t index) {
          return read_publisher_type(address, stride, index, info, context);
        },
        2);
  }

  Result<PublisherTypeInfo> read_publisher_type(const char* address, uint32_t stride,
                                                std::size_t index, const PluginInfo& info,
                                                const std::string& context) {
    PublisherTypeInfo publisher;
    auto name = read_entry(address, stride, index, info, context, "publisher type", "rf_publisher_type", "publisher_type_count",
                           "<step>", publisher.callbacks);
    if (!name) return tl::unexpected(name.error());
    const rf_publisher_type& raw = publisher.callbacks;
    publisher.name = std::move(*name);
    const std::string publisher_context = context + ": publisher type '" + publisher.name + "'";
    auto platform = memory_.string(raw.platform, kMaxIdentifierLength);
    if (!platform || platform->empty() ||
        !std::all_of(platform->begin(), platform->end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        }) ||
        !((*platform)[0] >= 'a' && (*platform)[0] <= 'z')) {
      return fail(publisher_context + ": platform " +
                  describe_string(raw.platform, kMaxIdentifierLength) +
                  " is not valid: it must match [a-z][a-z0-9_-]* (e.g. \"youtube\")");
    }
    publisher.platform = *platform;
    auto summary = read_optional_text(raw.summary, publisher_context, "summary");
    if (!summary) return tl::unexpected(summary.error());
    publisher.summary = std::move(*summary);
    publisher.flags = raw.flags;

    auto pointer = [](auto function) { return reinterpret_cast<const void*>(function); };
    struct Callback {
      const char* field;
      const void* pointer;
      bool required;
    };
    const std::array<Callback, 11> callbacks{{
        {"create", pointer(raw.create), true},
        {"destroy", pointer(raw.destroy), true},
        {"cancel", pointer(raw.cancel), false},
        {"prepare", pointer(raw.prepare), true},
        {"start", pointer(raw.start), true},
        {"upload", pointer(raw.upload), true},
        {"finalize", pointer(raw.finalize), true},
        {"poll", pointer(raw.poll), true},
        {"reconcile", pointer(raw.reconcile), true},
        {"metrics", pointer(raw.metrics), false},
        {"refresh", pointer(raw.refresh), false},
    }};
    for (const auto& callback : callbacks) {
      if (callback.pointer == nullptr) {
        if (callback.required) return fail(publisher_context + ": " + callback.field + " is NULL");
        continue;
      }
      Dl_info where_it_is{};
      if (dladdr(callback.pointer, &where_it_is) == 0) {
        return fail(publisher_context + ": " + callback.field +
                    " does not point into any loaded code");
      }
    }

    auto options = read_options(raw.options, raw.option_count, publisher_context);
    if (!options) return tl::unexpected(options.error());
    for (const auto& option : *options) {
      for (const auto& common : publish_options({})) {
        if (common.name == option.name) {
          return fail(publisher_context + ": option '" + option.name +
                      "' has the name of a common post option the host adds; rename it");
        }
      }
    }
    publisher.options = std::move(*options);
    auto account_options =
        read_options(raw.account_options, raw.account_option_count, publisher_context + " account");
    if (!account_options) return tl::unexpected(account_options.error());
    publisher.account_options = std::move(*account_options);
    auto scheduling = read_optional_text(raw.scheduling_json, publisher_context, "scheduling_json");
    if (!scheduling) return tl::unexpected(scheduling.error());
    if (!scheduling->empty()) {
      auto value = nlohmann::json::parse(*scheduling, nullptr, false);
      if (value.is_discarded()) {
        return fail(publisher_context + ": scheduling_json is not valid JSON");
      }
      auto rules = parse_posting_rules(value);
      if (!rules) return fail(publisher_context + ": " + rules.error().message);
      publisher.rules = std::move(*rules);
    }
    return publisher;
  }

  Result<std::vector<OptionSpec>> read_options(const rf_option* options, std::size_t option_count,
                                               const std::string& context) {
    std::vector<OptionSpec> out;
    if (option_count == 0) return out;
    if (options == nullptr || option_count > kMaxArrayCount) {
      return fail(context + ": options must point to an array of option_count (" +
                  std::to_string(option_count) + ") entries, at most " +
                  std::to_string(kMaxArrayCount));
    }
    auto stride = read_stride(options, kOptionMinSize, context, "rf_option");
    if (!stride) return tl::unexpected(stride.error());
    auto* base = reinterpret_cast<const char*>(options);
    for (std::size_t i = 0; i < option_count; ++i) {
      auto option = read_option(base + i * *stride, *stride, i, context);
      if (!option) return tl::unexpected(option.error());
      for (const auto& earlier : out) {
        if (earlier.name == option->name) {
          return fail(context + ": option '" + option->name + "' is declared twice");
        }
      }
      out.push_back(std::move(*option));
    }
    return out;
  }

  Result<OptionSpec> read_option(const char* address, uint32_t stride, std::size_t index,
                                 const std::string& context) {
    const std::string entry = context + ": option #" + std::to_string(index + 1);
    uint32_t own_size = 0;
    if (!memory_.copy_value(address, own_size)) {
      return fail(entry + " is not readable memory (is option_count right?)");
    }
    if (own_size != stride) {
      return fail(entry + ": malformed rf_option: struct_size is " + std::to_string(own_size) +
                  " but the array's first entry says " + std::to_string(stride) +
                  " (is option_count right?)");
    }
    rf_option raw{};
    if (!read_sized(address, stride, raw)) {
      return fail(entry + " is not readable memory (is option_count right?)");
    }
    OptionSpec spec;
    auto name = memory_.string(raw.name, kMaxIdentifierLength);
    if (!name || !is_identifier(*name)) {
      return fail(entry + ": name " + describe_string(raw.name, kMaxIdentifierLength) +
                  " is not valid: it must match [a-z][a-z0-9_]* (at most 64 characters)");
    }
    spec.name = *name;
    const std::string option_context = context + ": option '" + spec.name + "'";
    // The enum fields came from the plugin's bytes: read them as the integers they are.
    int type = 0;
    int item_type = 0;
    std::memcpy(&type, &raw.type, sizeof(type));
    std::memcpy(&item_type, &raw.item_type, sizeof(item_type));
    if (type < RF_OPT_STRING || type > RF_OPT_OBJECT) {
      return fail(option_context + ": unknown type " + std::to_string(type));
    }
    spec.type = static_cast<rf_option_type>(type);
    if (type == RF_OPT_LIST) {
      if (item_type != 0 && (item_type < RF_OPT_STRING || item_type > RF_OPT_OBJECT)) {
        return fail(option_context + ": unknown item_type " + std::to_string(item_type));
      }
      spec.item_type = item_type;
    }
    spec.required = raw.required != 0;
    if (raw.has_min != 0) {
      if (!std::isfinite(raw.min)) return fail(option_context + ": min is not a finite number");
      spec.min = raw.min;
    }
    if (raw.has_max != 0) {
      if (!std::isfinite(raw.max)) return fail(option_context + ": max is not a finite number");
      spec.max = raw.max;
    }
    if (spec.min && spec.max && *spec.min > *spec.max) {
      return fail(option_context + ": min is greater than max");
    }
    auto help = read_optional_text(raw.help, option_context, "help");
    if (!help) return tl::unexpected(help.error());
    spec.help = std::move(*help);

    if (raw.type == RF_OPT_ENUM) {
      auto values = read_enum_values(raw.enum_values, option_context);
      if (!values) return tl::unexpected(values.error());
      spec.enum_values = std::move(*values);
    }

    // A required option's default is ignored (plugin.h), so it is not checked either.
    if (raw.default_json != nullptr && !spec.required) {
      auto text = memory_.string(raw.default_json, kMaxTextLength);
      if (!text) {
        return fail(option_context + ": default_json is not a readable string of at most " +
                    std::to_string(kMaxTextLength) + " bytes");
      }
      auto value = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
      if (value.is_discarded()) {
        return fail(option_context + ": default_json is not valid JSON: " + *text);
      }
      if (auto problem = check_option_value(spec, value)) {
        return fail(option_context + ": default_json " + *text +
                    " does not fit the option: " + *problem);
      }
      spec.default_value = std::move(value);
    }
    return spec;
  }

  Result<std::vector<std::string>> read_enum_values(const char* const* values,
                                                    const std::string& context) {
    std::vector<std::string> out;
    if (values == nullptr) {
      return fail(context + ": an enum option needs enum_values (a NULL-terminated list)");
    }
    for (std::size_t i = 0;; ++i) {
      if (i > kMaxEnumValues) {
        return fail(context + ": enum_values has more than " + std::to_string(kMaxEnumValues) +
                    " entries (is it NULL-terminated?)");
      }
      const char* pointer = nullptr;
      if (!memory_.copy_value(values + i, pointer)) {
        return fail(context + ": enum_values is not readable memory (is it NULL-terminated?)");
      }
      if (pointer == nullptr) break;
      auto value = memory_.string(pointer, kMaxTextLength);
      if (!value || value->empty()) {
        return fail(context + ": enum value #" + std::to_string(i + 1) +
                    " is not a readable, non-empty string");
      }
      if (std::find(out.begin(), out.end(), *value) != out.end()) {
        return fail(context + ": enum value '" + *value + "' is listed twice");
      }
      out.push_back(std::move(*value));
    }
    if (out.empty()) return fail(context + ": an enum option needs at least one enum value");
    return out;
  }

  std::string where_;
  ProbedMemory& memory_;
};

}  // namespace

const OptionSpec* StepTypeInfo::find_option(std::string_view option_name) const {
  for (const auto& option : options) {
    if (option.name == option_name) return &option;
  }
  return nullptr;
}

const OptionSpec* TriggerTypeInfo::find_option(std::string_view option_name) const {
  for (const auto& option : options) {
    if (option.name == option_name) return &option;
  }
  return nullptr;
}

std::string TriggerTypeInfo::workflow_key() const {
  // `on.schedule` and `on.manual` are the daemon's built-in triggers: a plugin of that name keeps
  // its full trigger type names.
  if (plugin != nullptr && plugin->trigger_types.size() == 1 && plugin->name != "schedule" &&
      plugin->name != "manual") {
    return plugin->name;
  }
  return name;
}

Registry::Registry() = default;
// Handles are deliberately not closed: see the header.
Registry::~Registry() = default;
Registry::Registry(Registry&&) noexcept = default;
Registry& Registry::operator=(Registry&&) noexcept = default;

Result<const PluginInfo*> Registry::load_file(const fs::path& shared_object) {
  const std::string where = shared_object.string();
  // dlopen searches the library path for a name without a slash; a plugin file is a file.
  std::error_code ec;
  fs::path opened = fs::absolute(shared_object, ec);
  if (ec) opened = shared_object;

  if (auto problem = check_elf_file(opened)) return fail(where + ": cannot load: " + *problem);
  dlerror();
  void* handle = dlopen(opened.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    return fail(where + ": cannot load: " + load_error_text(shared_object, opened));
  }
  // From here on every refusal closes the handle again.
  auto refuse = [handle](std::string message) {
    dlclose(handle);
    return fail(std::move(message));
  };

  dlerror();
  void* symbol = dlsym(handle, RF_PLUGIN_ENTRY_SYMBOL);
  if (symbol == nullptr) {
    return refuse(where + ": not a reelflow plugin: no symbol " RF_PLUGIN_ENTRY_SYMBOL);
  }
  // Calling a data symbol that happens to carry the name would crash; the symbol table says what
  // it is.
  Dl_info symbol_info{};
  void* symbol_entry = nullptr;
  if (dladdr1(symbol, &symbol_info, &symbol_entry, RTLD_DL_SYMENT) != 0 &&
      symbol_entry != nullptr) {
    const auto* elf_symbol = static_cast<const ElfW(Sym)*>(symbol_entry);
    unsigned type = ELF64_ST_TYPE(elf_symbol->st_info);
    if (type != STT_FUNC && type != STT_GNU_IFUNC) {
      return refuse(where + ": not a reelflow plugin: " RF_PLUGIN_ENTRY_SYMBOL
                            " is not a function");
    }
  }

  ProbedMemory memory;
  if (!memory.usable()) {
    return refuse(where +
                  ": cannot load: cannot create a pipe: " + std::system_category().message(errno));
  }

  auto entry = reinterpret_cast<rf_plugin_entry_fn>(symbol);
  // A crash inside the entry function cannot be caught in-process: see the top of this file.
  const rf_plugin* descriptor = entry(RF_ABI_MAJOR, RF_ABI_MINOR);
  if (descriptor == nullptr) {
    return refuse(where + ": plugin refused this host (ABI " +
                  abi_text(RF_ABI_MAJOR, RF_ABI_MINOR) + ")");
  }

  DescriptorReader reader(shared_object, memory);
  auto info = reader.read(descriptor);
  if (!info) return refuse(info.error().message);
  (*info)->path = shared_object;

  // Step types first: two files of one plugin name usually collide on a step type, and that is
  // the more useful thing to say.
  for (const auto& step : (*info)->step_types) {
    if (const StepTypeInfo* existing = find(step.name)) {
      return refuse(where + ": step type '" + step.name + "' is already provided by " +
                    existing->plugin->path.string());
    }
  }

  for (const auto& trigger : (*info)->trigger_types) {
    if (const TriggerTypeInfo* existing = find_trigger(trigger.name)) {
      return refuse(where + ": trigger type '" + trigger.name + "' is already provided by " +
                    existing->plugin->path.string());
    }
  }

  for (const auto& loaded : plugins_) {
    if (loaded->name == (*info)->name) {
      return refuse(where + ": plugin '" + loaded->name + "' is already provided by " +
                    loaded->path.string());
    }
  }
  PluginInfo* plugin = info->get();
  for (auto& step : plugin->step_types) step.plugin = plugin;
  for (auto& trigger : plugin->trigger_types) trigger.plugin = plugin;
  for (auto& publisher : plugin->publisher_types) {
    publisher.plugin = plugin;
    for (auto& step : plugin->step_types) {
      if (step.name == publisher.name) step.publisher = &publisher;
    }
  }
  plugins_.push_back(std::move(*info));
  handles_.push_back(handle);
  return plugin;
}

std::vector<Error> Registry::load_dir(const fs::path& dir) {
  std::vector<Error> errors;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    errors.push_back(Error{dir.string() + ": cannot read plugin directory: " + ec.message()});
    return errors;
  }
  std::vector<fs::path> files;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path& file = it->path();
    std::error_code status_error;
    // is_regular_file follows symlinks: a packaged plugin may be a link to a versioned file.
    if (file.extension() == ".so" && it->is_regular_file(status_error)) files.push_back(file);
  }
  if (ec) {
    errors.push_back(Error{dir.string() + ": cannot read plugin directory: " + ec.message()});
  }
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  for (const auto& file : files) {
    if (auto loaded = load_file(file); !loaded) errors.push_back(loaded.error());
  }
  return errors;
}

namespace {

// The entry named `name` among every plugin's Member list (step or trigger types), or nullptr.
template <auto Member, typename Plugins>
auto find_named(const Plugins& plugins, std::string_view name) -> const
    typename std::remove_reference_t<decltype((*plugins.front()).*Member)>::value_type* {
  for (const auto& plugin : plugins) {
    for (const auto& entry : (*plugin).*Member) {
      if (entry.name == name) return &entry;
    }
  }
  return nullptr;
}

// The names of every plugin's Member list, sorted.
template <auto Member, typename Plugins>
std::vector<std::string> sorted_names(const Plugins& plugins) {
  std::vector<std::string> names;
  for (const auto& plugin : plugins) {
    for (const auto& entry : (*plugin).*Member) names.push_back(entry.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

const StepTypeInfo* Registry::find(std::string_view step_type) const {
  return find_named<&PluginInfo::step_types>(plugins_, step_type);
}

const PublisherTypeInfo* Registry::find_publisher(std::string_view publisher_type) const {
  return find_named<&PluginInfo::publisher_types>(plugins_, publisher_type);
}

std::vector<std::string> Registry::publisher_type_names() const {
  return sorted_names<&PluginInfo::publisher_types>(plugins_);
}

std::vector<std::string> Registry::step_type_names() const {
  return sorted_names<&PluginInfo::step_types>(plugins_);
}

const TriggerTypeInfo* Registry::find_trigger(std::string_view trigger_type) const {
  return find_named<&PluginInfo::trigger_types>(plugins_, trigger_type);
}

std::vector<std::string> Registry::trigger_type_names() const {
  return sorted_names<&PluginInfo::trigger_types>(plugins_);
}

const PluginInfo* Registry::find_plugin(std::string_view plugin_name) const {
  for (const auto& plugin : plugins_) {
    if (plugin->name == plugin_name) return plugin.get();
  }
  return nullptr;
}

fs::path builtin_plugin_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return fs::path("lib/reelflow/plugins");
  return (exe.parent_path() / ".." / "lib" / "reelflow" / "plugins").lexically_normal();
}

}  // namespace reelflow::plugin_host
