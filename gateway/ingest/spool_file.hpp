// A received object on its way in: a file in <data>/spool that the network side appends
// fragments to, so memory per association stays bounded whatever the object's size.
// Removed on destruction unless it was moved elsewhere (store or quarantine).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <utility>

#include "codecs/io/file.hpp"

namespace countylink::ingest {

class SpoolFile {
  public:
    // Creates a new empty file with a unique name in `directory`; throws std::system_error.
    explicit SpoolFile(const std::filesystem::path& directory);
    ~SpoolFile();
    SpoolFile(SpoolFile&& other) noexcept
        : path_(std::exchange(other.path_, {})), fd_(std::move(other.fd_)), size_(other.size_) {}
    SpoolFile& operator=(SpoolFile&&) = delete;

    // Appends bytes; throws std::system_error (ENOSPC when the disk is full).
    void append(std::span<const std::byte> data);
    // Closes the descriptor; the file stays until destruction.
    void close();

    const std::filesystem::path& path() const { return path_; }
    uint64_t size() const { return size_; }

  private:
    std::filesystem::path path_;
    io::UniqueFd fd_;
    uint64_t size_ = 0;
};

}  // namespace countylink::ingest
