// Content-addressed blobs: each stored object is one zstd frame named by the SHA-256 of its
// raw (Part-10) bytes, at <root>/<2 hex>/<64 hex>.zst, optionally preceded by a skippable
// frame that declares a sample pre-filter. Written to a temporary name, fsync'd, then renamed,
// so a blob under its final name is always complete. The ingest path writes first and
// publishes (fsync, rename, directory fsync) while the index commits: see GroupCommit.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "codecs/compress/sample_filter.hpp"
#include "codecs/compress/zstd_stream.hpp"
#include "codecs/io/file.hpp"

namespace countylink::store {

struct BlobRef {
    std::string sha256;
    uint64_t raw_size = 0;
    uint64_t stored_size = 0;
    std::filesystem::path directory;  // to fsync before the index refers to the blob
};

// Streams a blob's original bytes (undoing the sample pre-filter when the blob has one).
class BlobReader {
  public:
    explicit BlobReader(io::UniqueFd fd);
    // Up to out.size() raw bytes; 0 at the end. Throws on corruption (checksum mismatch).
    std::size_t read(std::span<std::byte> out);

  private:
    io::UniqueFd fd_;
    compress::ZstdReader zstd_;
    std::optional<compress::SampleFilter> filter_;
    std::vector<std::byte> inflated_, pending_;
    std::size_t pending_pos_ = 0;
    bool done_ = false;
};

// The rest of a blob's raw bytes in memory, for parsers that take a whole file (ECG originals).
// Throws std::length_error past `max_bytes`, and what BlobReader::read throws.
std::vector<std::byte> read_all(BlobReader reader, std::size_t max_bytes);

class BlobStore;

// A blob written to a temporary file by BlobStore::write, not yet durable nor under its name
// until BlobStore::publish. Destroyed unpublished, it removes its temporary file.
class PendingBlob {
  public:
    PendingBlob(PendingBlob&& other) noexcept;
    PendingBlob& operator=(PendingBlob&&) = delete;
    ~PendingBlob();

    const BlobRef& ref() const { return ref_; }

  private:
    friend class BlobStore;
    PendingBlob() = default;

    BlobStore* store_ = nullptr;  // set while the blob counts as in flight
    std::filesystem::path tmp_;   // empty when identical bytes were already stored
    io::UniqueFd fd_;
    BlobRef ref_;
};

class BlobStore {
  public:
    BlobStore(std::filesystem::path root, int zstd_level);

    // Compresses the file `source` into a blob in one streaming pass (hash and compress
    // together), fsyncs it, names it and fsyncs its directory: durable when it returns. An
    // existing identical blob is reused.
    // `samples`, when given, is where 16-bit samples lie in the file: they are pre-filtered
    // (codecs/compress/sample_filter) for a better ratio, and restored exactly on read.
    // Throws std::system_error (ENOSPC included) or std::runtime_error.
    BlobRef put(const std::filesystem::path& source,
                const std::optional<compress::SampleRange>& samples = std::nullopt);

    // put() in two steps, so the slow syncs can overlap the index commit. write() hashes and
    // compresses `source` into a temporary file (nothing synced); until publish() renames it
    // (or the PendingBlob ends) the blob counts as in flight: open() waits for it, contains()
    // is true.
    PendingBlob write(const std::filesystem::path& source,
                      const std::optional<compress::SampleRange>& samples = std::nullopt);
    // fsyncs the blob, renames it to its name and fsyncs that directory; afterwards the blob
    // is durable. Throws std::system_error; the blob then stays unpublished.
    void publish(PendingBlob& blob);

    // Opens the blob named `sha256` (waiting for one in flight to be published); throws
    // std::system_error if it does not exist.
    BlobReader open(const std::string& sha256);

    std::filesystem::path path_of(const std::string& sha256) const;

    // Whether the blob `sha256` is there, or written and in flight.
    bool contains(const std::string& sha256);

    // Deletes the blob `sha256` once no index row names it (purge); returns the bytes freed, 0
    // if it was not there or could not be removed. Not made durable: a blob that comes back
    // after a crash (or stays) is unreferenced, and start-up recovery removes it.
    uint64_t remove(const std::string& sha256);

    // Start-up clean-up: removes temporary files of interrupted puts, and blobs no index row
    // refers to (an object whose index commit never happened was never acknowledged). Also
    // names the referenced blobs that are missing (a crash after the index commit but before
    // the blob's name was durable: never acknowledged either; see Index::forget_blobs).
    // Refuses (throws std::runtime_error, removing nothing) when there are more than
    // kCrashLeftovers unreferenced blobs and more of them than referenced ones: an index
    // that is not this store's (lost, replaced, a disk not mounted) must not empty it.
    struct Recovery {
        std::size_t removed = 0;
        std::vector<std::string> missing;
    };
    Recovery recover(const std::vector<std::string>& referenced);

    // How many unknown or missing blobs a crash can plausibly leave (a few workers' objects
    // in flight, one purge's removals); recovery treats more as a sign of the wrong index.
    static constexpr std::size_t kCrashLeftovers = 64;

    // The store against an index's blob names (directories read, no blob opened): files it
    // does not name (temporaries excluded), and the names it lists that are not on disk.
    struct Census {
        std::vector<std::filesystem::path> unknown;
        std::vector<std::string> missing;  // sorted
        std::size_t known = 0;             // distinct names the index lists
    };
    Census census(const std::vector<std::string>& referenced) const;

  private:
    friend class PendingBlob;
    void land(const std::string& sha256);  // a pending blob is published or dropped

    // A compression context for one put; kept for the next when given back.
    std::unique_ptr<compress::ZstdContext> take_context();
    void give_back(std::unique_ptr<compress::ZstdContext> context);

    std::filesystem::path root_;
    int level_;
    std::mutex contexts_mutex_;
    std::vector<std::unique_ptr<compress::ZstdContext>> contexts_;  // idle, one per past worker
    std::mutex flight_mutex_;
    std::condition_variable landed_;
    std::unordered_map<std::string, int> in_flight_;  // sha256 -> pending blobs with it
};

}  // namespace countylink::store
