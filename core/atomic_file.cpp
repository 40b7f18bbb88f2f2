// Atomic file replacement by temporary file + fsync + rename.
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
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  std::string pattern = (target.has_parent_path() ? target.parent_path() / ("." + target.filename().string())
                                                  : fs::path("." + target.filename().string()))
                            .string() +
                        ".tmp-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  fd_ = ::mkstemp(buffer.data());
  check(fd_ >= 0, path, ": cannot create a temporary file next to it (", std::strerror(errno), ")");
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
    check(written > 0, path_, ": write failed (", std::strerror(errno), ")");
    bytes += written;
    size -= static_cast<size_t>(written);
  }
}

void AtomicFile::commit() {
  check(::fsync(fd_) == 0, path_, ": fsync failed (", std::strerror(errno), ")");
  ::fchmod(fd_, 0644);
  ::close(fd_);
  fd_ = -1;
  check(::rename(temporary_path_.c_str(), path_.c_str()) == 0, path_, ": cannot rename the finished file into place (",
        std::strerror(errno), ")");
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
