#include "gateway/store/data_directory_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace countylink::store {

DataDirectoryLock::DataDirectoryLock(const std::filesystem::path& dir, std::string_view holder)
    : fd_(io::open_file(dir / "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            throw std::system_error(errno, std::generic_category(),
                                    "lock " + (dir / "lock").string());
        }
        char owner[128] = {};
        const ssize_t n = ::pread(fd_.get(), owner, sizeof owner - 1, 0);
        std::string who = n > 0 ? std::string(owner, static_cast<std::size_t>(n)) : "";
        while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
        throw std::runtime_error("data directory " + std::filesystem::absolute(dir).string() +
                                 " is in use by " + (who.empty() ? "another process" : who) +
                                 ": stop it first, or use another --data-dir");
    }
    // Who holds it, for the message above; the lock, not this text, is what counts.
    const std::string text = std::string(holder) + " (pid " + std::to_string(::getpid()) + ")\n";
    if (::ftruncate(fd_.get(), 0) != 0 ||
        ::pwrite(fd_.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
        throw std::system_error(errno, std::generic_category(), "write " + (dir / "lock").string());
    }
}

}  // namespace countylink::store
