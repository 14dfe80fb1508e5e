#include "gateway/store/data_directory_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace countylink::store {

namespace {

// The lock file, never through a symlink (a purge runs as root) and only a regular file.
// Read-only when it is not ours to write (created by another user): flock needs no write
// access on a local file system.
io::UniqueFd open_lock_file(const std::filesystem::path& file, bool& writable) {
    int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    writable = fd >= 0;
    if (fd < 0 && (errno == EACCES || errno == EROFS))
        fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + file.string());
    io::UniqueFd owned(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        throw std::runtime_error(file.string() + " is not a regular file: remove it");
    }
    return owned;
}

}  // namespace

DataDirectoryLock::DataDirectoryLock(const std::filesystem::path& dir, std::string_view holder) {
    const auto file = dir / "lock";
    bool writable = false;
    fd_ = open_lock_file(file, writable);
    if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            throw std::system_error(errno, std::generic_category(), "lock " + file.string());
        }
        char owner[128] = {};
        const ssize_t n = ::pread(fd_.get(), owner, sizeof owner - 1, 0);
        std::string who = n > 0 ? std::string(owner, static_cast<std::size_t>(n)) : "";
        while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
        throw std::runtime_error("data directory " + std::filesystem::absolute(dir).string() +
                                 " is in use by " + (who.empty() ? "another process" : who) +
                                 ": stop it first");
    }
    if (!writable) return;
    // Who holds it, for the message above; the lock, not this text, is what counts.
    const std::string text = std::string(holder) + " (pid " + std::to_string(::getpid()) + ")\n";
    if (::ftruncate(fd_.get(), 0) != 0 ||
        ::pwrite(fd_.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
        throw std::system_error(errno, std::generic_category(), "write " + file.string());
    }
}

}  // namespace countylink::store
