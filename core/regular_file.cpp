// Type-checked opening of user-named files: stat, open without blocking, fstat again, then read.
#include "core/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace stepwise {
namespace {

// "a FIFO", "a socket", ... for the message about a file that is not a regular one.
const char* kind_of(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a file";
}

void check_type(const std::string& path, mode_t mode) {
  check(!S_ISDIR(mode), path, ": is a directory, expected a file");
  check(S_ISREG(mode), path, ": not a regular file (", kind_of(mode), ")");
}

}  // namespace

void require_regular_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int error = errno;
    check(error != ENOENT, path, ": file not found");
    fail(path, ": cannot stat (", std::strerror(error), ")");
  }
  check_type(path, st.st_mode);
}

int open_regular_file(const std::string& path) {
  require_regular_file(path);
  // O_NONBLOCK: should the path be swapped for a FIFO after the check, open still returns at once.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int error = errno;
    fail(path, ": cannot open (", std::strerror(error), ")");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    fail(path, ": cannot stat (", std::strerror(error), ")");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    check_type(path, st.st_mode);
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

std::string read_regular_file(const std::string& path) {
  const int fd = open_regular_file(path);
  std::string text;
  char buffer[1 << 16];
  while (true) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int error = errno;
      ::close(fd);
      fail(path, ": cannot read (", std::strerror(error), ")");
    }
    if (got == 0) break;
    text.append(buffer, static_cast<size_t>(got));
  }
  ::close(fd);
  return text;
}

}  // namespace stepwise
