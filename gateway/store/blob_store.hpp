// Content-addressed blobs: each stored object is one zstd frame named by the SHA-256 of its
// raw (Part-10) bytes, at <root>/<2 hex>/<64 hex>.zst, optionally preceded by a skippable
// frame that declares a sample pre-filter. Written to a temporary name, fsync'd, then renamed,
// so a blob under its final name is always complete.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
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

class BlobStore {
  public:
    BlobStore(std::filesystem::path root, int zstd_level);

    // Compresses the file `source` into a blob in one streaming pass (hash and compress
    // together) and fsyncs it. The new name's directory entry is durable only after
    // io::sync_directory(ref.directory). An existing identical blob is reused.
    // `samples`, when given, is where 16-bit samples lie in the file: they are pre-filtered
    // (codecs/compress/sample_filter) for a better ratio, and restored exactly on read.
    // Throws std::system_error (ENOSPC included) or std::runtime_error.
    BlobRef put(const std::filesystem::path& source,
                const std::optional<compress::SampleRange>& samples = std::nullopt);

    // Opens the blob named `sha256`; throws std::system_error if it does not exist.
    BlobReader open(const std::string& sha256) const;

    std::filesystem::path path_of(const std::string& sha256) const;

    // Whether the blob `sha256` is there.
    bool contains(const std::string& sha256) const;

    // Deletes the blob `sha256` once no index row names it (purge); returns the bytes freed, 0
    // if it was not there or could not be removed. Not made durable: a blob that comes back
    // after a crash (or stays) is unreferenced, and start-up recovery removes it.
    uint64_t remove(const std::string& sha256);

    // Start-up clean-up: removes temporary files of interrupted puts, and blobs no index row
    // refers to (an object whose index commit never happened was never acknowledged).
    // Returns the number of files removed.
    std::size_t recover(const std::vector<std::string>& referenced);

  private:
    // A compression context for one put; kept for the next when given back.
    std::unique_ptr<compress::ZstdContext> take_context();
    void give_back(std::unique_ptr<compress::ZstdContext> context);

    std::filesystem::path root_;
    int level_;
    std::mutex contexts_mutex_;
    std::vector<std::unique_ptr<compress::ZstdContext>> contexts_;  // idle, one per past worker
};

}  // namespace countylink::store
