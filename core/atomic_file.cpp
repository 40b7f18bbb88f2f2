// Atomic file replacement by temporary file + fsync + rename. A directory at the target is refused up
// front (rename cannot replace it), and errno is saved before any message is built from it.
#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/error.h"

namespace stepwise {

AtomicFile::AtomicFile(const std::string& path) : path_(path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::error_code error;
  // Refused up front, before any work is written: rename cannot put a file in a directory's place.
  check(!fs::is_directory(fs::symlink_status(target, error)), path,
        ": is a directory; cannot replace it with a file (move it away)");
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  std::string pattern = (target.has_parent_path() ? target.parent_path() / ("." + target.filename().string())
                                                  : fs::path("." + target.filename().string()))
                            .string() +
                        ".tmp-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  fd_ = ::mkstemp(buffer.data());
  const int error_code = errno;
  check(fd_ >= 0, path, ": cannot create a temporary file next to it (", std::strerror(error_code), ")");
  temporary_path_ = buffer.data();
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temporary_path_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t written = ::write(fd_, bytes, size);
    if (written < 0 && errno == EINTR) continue;
    const int error = errno;
    check(written > 0, path_, ": write failed (", std::strerror(error), ")");
    bytes += written;
    size -= static_cast<size_t>(written);
  }
}

void AtomicFile::commit() {
  const bool synced = ::fsync(fd_) == 0;
  const int sync_error = errno;
  check(synced, path_, ": fsync failed (", std::strerror(sync_error), ")");
  ::fchmod(fd_, 0644);
  ::close(fd_);
  fd_ = -1;
  if (::rename(temporary_path_.c_str(), path_.c_str()) != 0) {
    const int error = errno;  // saved before anything else can change it
    fail(path_, ": cannot rename the finished file into place (", std::strerror(error), ")");
  }
  committed_ = true;
  // The rename itself is durable only once the directory entry is on disk.
  const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  const int directory = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY);
  if (directory >= 0) {
    ::fsync(directory);
    ::close(directory);
  }
}

void write_file_atomically(const std::string& path, const std::string& text) {
  AtomicFile file(path);
  file.write(text);
  file.commit();
}

}  // namespace stepwise
