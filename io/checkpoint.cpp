// The public checkpoint API: the file side of it. The format (header, dtypes, byte layout) lives in
// io/detail/safetensors.h; this file reads images from files with pread and writes them durably:
// temporary file, fsync, rename over the target, fsync of the directory.

#include "voxgrad/io/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "voxgrad/core/error.h"
#include "voxgrad/io/detail/safetensors.h"

namespace voxgrad::io {

namespace {

using detail::Context;
using detail::plan_save;
using detail::read_image;
using detail::SavePlan;
using detail::write_image;

// read()/write() move at most this much per call.
constexpr std::uint64_t kMaxIoChunk = std::uint64_t{1} << 30;

std::string errno_text(int err) { return std::system_category().message(err); }

// --- reading ----------------------------------------------------------------------------------

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Takes ownership of `fd` (this must hold none).
  void reset(int fd) { fd_ = fd; }
  // Closes now, returning close()'s errno (0 on success).
  int close() {
    const int fd = std::exchange(fd_, -1);
    return fd >= 0 && ::close(fd) != 0 ? errno : 0;
  }

 private:
  int fd_;
};

Checkpoint read_file(const char* op, const std::string& path, bool with_tensors) {
  const Context ctx{op, path};
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) ctx.fail("cannot open the file: {}", errno_text(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) ctx.fail("cannot stat the file: {}", errno_text(errno));
  if (!S_ISREG(st.st_mode)) ctx.fail("not a regular file");
  const auto total = static_cast<std::uint64_t>(st.st_size);
  return read_image(ctx, total, with_tensors, [&](std::uint64_t offset, std::uint64_t size, void* dst) {
    auto* p = static_cast<char*>(dst);
    while (size > 0) {
      const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(size, kMaxIoChunk));
      const ssize_t got = ::pread(fd.get(), p, chunk, static_cast<off_t>(offset));
      if (got < 0) {
        if (errno == EINTR) continue;
        ctx.fail("read failed at byte {}: {}", offset, errno_text(errno));
      }
      if (got == 0) {
        ctx.fail("the file ends at byte {}, but it had {} bytes when opened (truncated while being read?)", offset,
                 total);
      }
      p += got;
      offset += static_cast<std::uint64_t>(got);
      size -= static_cast<std::uint64_t>(got);
    }
  });
}

// --- writing ----------------------------------------------------------------------------------

// A uniquely named temporary file next to the target, removed unless committed.
class TempFile {
 public:
  TempFile(const Context& ctx, const std::filesystem::path& target) : fd_(-1) {
    static std::atomic<std::uint64_t> counter{0};
    const std::filesystem::path dir = target.parent_path().empty() ? "." : target.parent_path();
    for (int attempt = 0;; ++attempt) {
      // pid and counter make the name unique within this machine's processes; the clock guards
      // against a stale file from an earlier process with the same pid. O_EXCL settles the rest.
      const auto tick = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
      path_ = dir / fmt::format(".{}.tmp-{}-{}-{:x}", target.filename().string(), ::getpid(), counter.fetch_add(1),
                                tick & 0xffffffffu);
      // 0666 minus the umask: the permissions a plain new file gets.
      const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd >= 0) {
        fd_.reset(fd);
        break;
      }
      if (errno != EEXIST || attempt >= 100) {
        ctx.fail("cannot create a temporary file in '{}': {}", dir.string(), errno_text(errno));
      }
    }
  }
  ~TempFile() {
    if (committed_) return;
    fd_.close();
    ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  Fd& fd() { return fd_; }
  void commit() { committed_ = true; }

 private:
  Fd fd_;
  std::filesystem::path path_;
  bool committed_ = false;
};

}  // namespace

// The durable write: the image goes to a temporary file next to `path` (same directory, so same
// file system, so rename is atomic); fsync puts its bytes on disk; close reports any deferred write
// error; rename replaces `path` in one step; fsync of the directory makes the rename itself durable.
// Until the rename, `path` is untouched, and a failure removes the temporary file.
void save(const nn::StateDict& state, const std::string& path, const CheckpointMetadata& metadata) {
  const Context ctx{"save", path};
  const std::filesystem::path target(path);
  if (!target.has_filename()) ctx.fail("the path names a directory, not a file");
  const SavePlan plan = plan_save(ctx, state, metadata);

  TempFile tmp(ctx, target);
  const auto temp_failed = [&](const char* doing, int err) {
    ctx.fail("{} the temporary file '{}' failed: {}", doing, tmp.path().string(), errno_text(err));
  };
  write_image(plan, state, [&](const void* data, std::uint64_t size) {
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
      const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(size, kMaxIoChunk));
      const ssize_t put = ::write(tmp.fd().get(), p, chunk);
      if (put < 0) {
        if (errno == EINTR) continue;
        temp_failed("writing", errno);
      }
      p += put;
      size -= static_cast<std::uint64_t>(put);
    }
  });
  if (::fsync(tmp.fd().get()) != 0) {
    temp_failed("syncing", errno);
  }
  if (const int err = tmp.fd().close(); err != 0) {
    temp_failed("closing", err);
  }
  if (::rename(tmp.path().c_str(), path.c_str()) != 0) {
    ctx.fail("cannot rename the temporary file '{}' to it: {}", tmp.path().string(), errno_text(errno));
  }
  tmp.commit();

  // The rename is durable only once the directory entry is on disk.
  const std::filesystem::path dir = target.parent_path().empty() ? "." : target.parent_path();
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || (::fsync(dir_fd.get()) != 0 && errno != EINVAL)) {
    ctx.fail("the checkpoint was written, but syncing its directory '{}' failed: {}", dir.string(), errno_text(errno));
  }
}

std::vector<std::uint8_t> save_to_bytes(const nn::StateDict& state, const CheckpointMetadata& metadata) {
  static const std::string kSource = "<memory>";
  const SavePlan plan = plan_save(Context{"save_to_bytes", kSource}, state, metadata);
  std::vector<std::uint8_t> bytes;
  bytes.reserve(plan.total);
  write_image(plan, state, [&](const void* data, std::uint64_t size) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    bytes.insert(bytes.end(), p, p + size);
  });
  return bytes;
}

nn::StateDict load(const std::string& path) { return read_file("load", path, true).state; }

CheckpointMetadata load_metadata(const std::string& path) { return read_file("load_metadata", path, false).metadata; }

Checkpoint load_checkpoint(const std::string& path) { return read_file("load_checkpoint", path, true); }

Checkpoint load_from_bytes(const std::uint8_t* data, std::size_t size, const std::string& source) {
  const Context ctx{"load_from_bytes", source};
  return read_image(ctx, size, true, [&](std::uint64_t offset, std::uint64_t count, void* dst) {
    // read_image only asks for validated ranges; the check keeps that an invariant, not a hope.
    if (offset > size || count > size - offset) {
      ctx.fail("internal error: read of {} bytes at {} beyond the image", count, offset);
    }
    std::memcpy(dst, data + offset, count);
  });
}

}  // namespace voxgrad::io
