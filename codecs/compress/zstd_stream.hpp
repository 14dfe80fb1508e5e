// Streaming zstd frames to and from file descriptors, with content checksums, in bounded memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace countylink::compress {

// A compression context and output buffer, reused frame after frame by one writer at a time:
// a fresh context per object allocated and cleared megabytes for every object stored.
class ZstdContext {
  public:
    // Frames written with this context use `level` and carry a content checksum.
    explicit ZstdContext(int level);
    ~ZstdContext();
    ZstdContext(const ZstdContext&) = delete;
    ZstdContext& operator=(const ZstdContext&) = delete;

  private:
    friend class ZstdWriter;
    std::unique_ptr<ZSTD_CCtx_s, std::size_t (*)(ZSTD_CCtx_s*)> ctx_;
    std::unique_ptr<std::byte[]> out_;
    std::size_t out_size_;
};

// Compresses everything written into one checksummed zstd frame appended to `fd`.
// finish() must be called once at the end; without it the frame is incomplete.
class ZstdWriter {
  public:
    // Borrows `context` until destruction. `size`, when given, must be exactly the number of
    // bytes that will be written: zstd then sizes its tables to it and records it in the frame.
    ZstdWriter(int fd, ZstdContext& context, std::optional<uint64_t> size = std::nullopt);
    ZstdWriter(const ZstdWriter&) = delete;
    ZstdWriter& operator=(const ZstdWriter&) = delete;

    // Compresses `data` and writes whatever output is ready; throws on I/O or zstd errors.
    void write(std::span<const std::byte> data);
    // Ends the frame and writes the rest; returns the compressed size written in total.
    uint64_t finish();

  private:
    void drain(std::span<const std::byte> in, int mode);
    int fd_;
    ZstdContext& context_;
    uint64_t written_ = 0;
    uint64_t flushed_ = 0;  // output already handed to writeback
};

// Decompresses a zstd stream read from `fd`, verifying checksums.
class ZstdReader {
  public:
    explicit ZstdReader(int fd);
    ~ZstdReader();
    ZstdReader(ZstdReader&&) noexcept = default;
    ZstdReader& operator=(ZstdReader&&) noexcept = default;

    // Fills `out` with up to out.size() decompressed bytes; returns 0 at the end of the stream.
    // Throws std::runtime_error on corrupt or truncated input.
    std::size_t read(std::span<std::byte> out);

  private:
    int fd_;
    std::unique_ptr<ZSTD_DCtx_s, std::size_t (*)(ZSTD_DCtx_s*)> ctx_;
    std::unique_ptr<std::byte[]> in_;
    std::size_t in_size_;
    std::size_t in_pos_ = 0, in_end_ = 0;
    bool eof_ = false;
    bool frame_done_ = true;
};

}  // namespace countylink::compress
