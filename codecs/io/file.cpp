#include "codecs/io/file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>

namespace countylink::io {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

UniqueFd::~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
}

UniqueFd open_file(const std::filesystem::path& path, int flags, int mode) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path.string());
    return UniqueFd(fd);
}

void write_all(int fd, std::span<const std::byte> data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "write");
        }
        data = data.subspan(static_cast<std::size_t>(n));
    }
}

std::size_t read_some(int fd, std::span<std::byte> data) {
    for (;;) {
        const ssize_t n = ::read(fd, data.data(), data.size());
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "read");
    }
}

std::function<std::size_t(std::span<std::byte>)> file_reader(std::filesystem::path path) {
    auto fd = std::make_shared<UniqueFd>();
    return [path = std::move(path), fd](std::span<std::byte> out) {
        if (!*fd) *fd = open_file(path, O_RDONLY);
        std::size_t filled = 0;
        while (filled < out.size()) {
            const std::size_t n = read_some(fd->get(), out.subspan(filled));
            if (n == 0) break;
            filled += n;
        }
        return filled;
    };
}

void sync_fd(int fd) {
    if (::fsync(fd) != 0) throw std::system_error(errno, std::generic_category(), "fsync");
}

void sync_directory(const std::filesystem::path& dir) {
    UniqueFd fd = open_file(dir, O_RDONLY | O_DIRECTORY);
    sync_fd(fd.get());
}

}  // namespace countylink::io
