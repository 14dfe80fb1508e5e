#include "gateway/ingest/spool_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <string>
#include <system_error>
#include <vector>

namespace countylink::ingest {

namespace {

// A file that held more than this is removed, not kept: its blocks are better given back.
constexpr uint64_t kKeepBelow = 4ull << 20;

}  // namespace

Spool::Spool(std::filesystem::path directory, std::size_t keep)
    : directory_(std::move(directory)), keep_(keep) {}

Spool::~Spool() {
    for (const Kept& k : free_) {
        std::error_code ec;
        std::filesystem::remove(k.path, ec);
    }
}

std::size_t Spool::kept() const {
    std::lock_guard lock(mutex_);
    return free_.size();
}

std::optional<Spool::Kept> Spool::take() {
    std::lock_guard lock(mutex_);
    if (free_.empty()) return std::nullopt;
    Kept k = std::move(free_.back());
    free_.pop_back();
    return k;
}

void Spool::give_back(std::filesystem::path path, io::UniqueFd fd, uint64_t size) noexcept {
    // Not emptied: the next object overwrites the same cached pages, then cuts the rest.
    bool keep = ::lseek(fd.get(), 0, SEEK_SET) == 0;
    if (keep) {
        std::lock_guard lock(mutex_);
        keep = free_.size() < keep_;
        if (keep) free_.push_back({std::move(path), std::move(fd), size});
    }
    if (!keep) {
        std::error_code ec;
        std::filesystem::remove(path, ec);
    }
}

SpoolFile::SpoolFile(Spool& spool) : spool_(&spool) {
    if (auto kept = spool.take()) {
        path_ = std::move(kept->path);
        fd_ = std::move(kept->fd);
        stale_ = kept->size;
        return;
    }
    thread_local std::mt19937_64 rng{std::random_device{}()};
    path_ = spool.directory() / ("rx-" + std::to_string(rng()) + ".part");
    fd_ = io::open_file(path_, O_WRONLY | O_CREAT | O_EXCL, 0640);
}

SpoolFile::~SpoolFile() {
    if (path_.empty() || !still_here()) return;  // moved from, or moved away (store, quarantine)
    if (reusable_ && size_ < kKeepBelow) {
        spool_->give_back(std::move(path_), std::move(fd_), std::max(size_, stale_));
    } else {
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
}

bool SpoolFile::still_here() const {
    struct stat named {
    }, open{};
    return ::stat(path_.c_str(), &named) == 0 && ::fstat(fd_.get(), &open) == 0 &&
           named.st_ino == open.st_ino && named.st_dev == open.st_dev;
}

void SpoolFile::close() {
    if (stale_ > size_ && ::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0) {
        throw std::system_error(errno, std::generic_category(), "truncate " + path_.string());
    }
    stale_ = size_;
}

void SpoolFile::adopt_written() {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) {
        throw std::system_error(errno, std::generic_category(), "stat " + path_.string());
    }
    size_ = stale_ = static_cast<uint64_t>(st.st_size);
}

void SpoolFile::append(std::span<const std::byte> data) {
    try {
        io::write_all(fd_.get(), data);
    } catch (...) {
        reusable_ = false;  // removed on destruction, giving its space back at once
        throw;
    }
    size_ += data.size();
}

SpoolFile spooled_copy(Spool& spool, store::BlobReader reader) {
    SpoolFile file(spool);
    std::vector<std::byte> chunk(1 << 20);
    for (std::size_t n; (n = reader.read(chunk)) > 0;) file.append({chunk.data(), n});
    file.close();
    return file;
}

}  // namespace countylink::ingest
