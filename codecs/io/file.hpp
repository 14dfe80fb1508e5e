// A file descriptor owned by RAII, and the few POSIX calls around it that report errors as
// std::system_error (errno kept, so callers can tell ENOSPC from the rest).
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <span>
#include <utility>

namespace countylink::io {

class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd();

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }

  private:
    int fd_ = -1;
};

// Opens `path` with open(2) flags; throws std::system_error naming the path.
UniqueFd open_file(const std::filesystem::path& path, int flags, int mode = 0644);

// Writes all of `data` (retrying short writes); throws std::system_error.
void write_all(int fd, std::span<const std::byte> data);

// Reads up to data.size() bytes (retrying EINTR); 0 at end of file; throws std::system_error.
std::size_t read_some(int fd, std::span<std::byte> data);

// A reader of a whole file in pieces: opens it at its first call, then fills each span it is
// given as far as the file goes (0 at the end). Throws std::system_error.
std::function<std::size_t(std::span<std::byte>)> file_reader(std::filesystem::path path);

// fsync(2) of a file, or of a directory so that a rename or create in it is durable.
void sync_fd(int fd);
void sync_directory(const std::filesystem::path& dir);

}  // namespace countylink::io
