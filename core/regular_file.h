// Opening and reading files named by users without trusting what they name: a directory, a FIFO, a
// socket or a device is refused by its type before any read, and a FIFO is never opened in a way that
// blocks (open with O_NONBLOCK, then fstat). Errors are stepwise::Error naming the path. Torch-free.
#pragma once

#include <string>

namespace stepwise {

// Throws stepwise::Error naming `path` when it does not exist, is a directory or is not a regular file
// (symbolic links are followed: a link to a regular file is fine).
void require_regular_file(const std::string& path);

// A read-only descriptor (O_CLOEXEC, blocking mode restored) of the regular file `path`; the caller
// closes it. Throws stepwise::Error naming `path` otherwise.
int open_regular_file(const std::string& path);

// The whole content of the regular file `path`.
std::string read_regular_file(const std::string& path);

}  // namespace stepwise
