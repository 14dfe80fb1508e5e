// A received object on its way in: a file in <data>/spool that the network side appends
// fragments to, so memory per association stays bounded whatever the object's size.
// Files are reused, and overwritten in place: a new file per object cost an inode allocation
// (ext4 without a journal steps over every recently deleted inode) and fresh page-cache pages,
// whose first write was the largest kernel cost per object under load.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "codecs/io/file.hpp"
#include "gateway/store/blob_store.hpp"

namespace countylink::ingest {

class SpoolFile;

// The spool directory and the finished files kept in it for the next objects. Thread-safe.
class Spool {
  public:
    // `keep`: how many finished files to hold for reuse (each holds a descriptor and the
    // bytes of its last object, at most a few MiB).
    explicit Spool(std::filesystem::path directory, std::size_t keep = 64);
    // Removes the kept files: a clean stop leaves the spool empty, so what the next start finds
    // there is only what a crash left (and is reported as such).
    ~Spool();
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    const std::filesystem::path& directory() const { return directory_; }
    // Files held for reuse right now.
    std::size_t kept() const;

  private:
    friend class SpoolFile;
    struct Kept {
        std::filesystem::path path;
        io::UniqueFd fd;
        uint64_t size;  // what the previous object left in it
    };
    std::optional<Kept> take();
    // Keeps the file for the next object, or removes it when enough are kept; never throws.
    void give_back(std::filesystem::path path, io::UniqueFd fd, uint64_t size) noexcept;

    std::filesystem::path directory_;
    std::size_t keep_;
    mutable std::mutex mutex_;
    std::vector<Kept> free_;
};

class SpoolFile {
  public:
    // A file in the spool to write an object into (a kept one or a new one); throws
    // std::system_error.
    explicit SpoolFile(Spool& spool);
    // Back to the spool unless it was moved elsewhere (store or quarantine).
    ~SpoolFile();
    SpoolFile(SpoolFile&& other) noexcept
        : spool_(other.spool_),
          path_(std::exchange(other.path_, {})),
          fd_(std::move(other.fd_)),
          size_(other.size_),
          stale_(other.stale_),
          reusable_(other.reusable_) {}
    SpoolFile& operator=(SpoolFile&&) = delete;

    // Appends bytes; throws std::system_error (ENOSPC when the disk is full).
    void append(std::span<const std::byte> data);
    // Ends writing: cuts what a previous object left beyond our bytes. Call before anyone
    // reads path(). Throws std::system_error.
    void close();

    // For a library that writes the file itself through path() (DCMTK's saveFile), after
    // close(): takes the file's length as what this object wrote, so the spool cuts what a later
    // object leaves beyond its own bytes. Throws std::system_error.
    void adopt_written();

    const std::filesystem::path& path() const { return path_; }
    uint64_t size() const { return size_; }

  private:
    // Whether `path_` still names the file we wrote (it was not renamed away).
    bool still_here() const;

    Spool* spool_;
    std::filesystem::path path_;
    io::UniqueFd fd_;
    uint64_t size_ = 0;
    uint64_t stale_ = 0;    // file length before close(): a reused file holds older bytes
    bool reusable_ = true;  // false after a failed write (the destructor also drops large ones)
};

// A stored blob's original bytes in a spool file (closed), for readers that want a file, such
// as DCMTK with large values left on disk. Throws what the read or the write throws.
SpoolFile spooled_copy(Spool& spool, store::BlobReader reader);

}  // namespace countylink::ingest
