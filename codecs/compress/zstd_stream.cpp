#include "codecs/compress/zstd_stream.hpp"

#include <fcntl.h>
#include <zstd.h>

#include <stdexcept>
#include <string>

#include "codecs/io/file.hpp"

namespace countylink::compress {
namespace {

constexpr uint64_t kParallelFrom = 8ull << 20;    // bytes of input
constexpr uint64_t kWritebackEvery = 4ull << 20;  // bytes of output

void check(std::size_t rc, const char* what) {
    if (ZSTD_isError(rc))
        throw std::runtime_error(std::string(what) + ": " + ZSTD_getErrorName(rc));
}

}  // namespace

ZstdContext::ZstdContext(int level)
    : ctx_(ZSTD_createCCtx(), &ZSTD_freeCCtx),
      out_(std::make_unique_for_overwrite<std::byte[]>(ZSTD_CStreamOutSize())),
      out_size_(ZSTD_CStreamOutSize()) {
    if (!ctx_) throw std::runtime_error("zstd: cannot create compression context");
    check(ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_compressionLevel, level), "zstd level");
    check(ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_checksumFlag, 1), "zstd checksum");
}

ZstdContext::~ZstdContext() = default;

ZstdWriter::ZstdWriter(int fd, ZstdContext& context, std::optional<uint64_t> size)
    : fd_(fd), context_(context) {
    // A frame abandoned by an earlier writer (an exception mid-object) must not leak into ours.
    check(ZSTD_CCtx_reset(context_.ctx_.get(), ZSTD_reset_session_only), "zstd reset");
    check(ZSTD_CCtx_setPledgedSrcSize(context_.ctx_.get(), size ? *size : ZSTD_CONTENTSIZE_UNKNOWN),
          "zstd size");
    // A large object is compressed by two threads: the sender is waiting for our answer, so
    // the network side is idle meanwhile. Small ones stay single-threaded (no job overhead).
    // A libzstd built without threads refuses 2; it then compresses on this thread.
    const int workers = size && *size >= kParallelFrom ? 2 : 0;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(context_.ctx_.get(), ZSTD_c_nbWorkers, workers)))
        ZSTD_CCtx_setParameter(context_.ctx_.get(), ZSTD_c_nbWorkers, 0);
}

void ZstdWriter::drain(std::span<const std::byte> data, int mode) {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    for (;;) {
        ZSTD_outBuffer out{context_.out_.get(), context_.out_size_, 0};
        const std::size_t remaining = ZSTD_compressStream2(context_.ctx_.get(), &out, &in,
                                                           static_cast<ZSTD_EndDirective>(mode));
        check(remaining, "zstd compress");
        io::write_all(fd_, {context_.out_.get(), out.pos});
        written_ += out.pos;
        if (written_ - flushed_ >= kWritebackEvery) {
            // Start writing back what is done, so the final fsync has little left to wait for.
            ::sync_file_range(fd_, static_cast<off_t>(flushed_),
                              static_cast<off_t>(written_ - flushed_), SYNC_FILE_RANGE_WRITE);
            flushed_ = written_;
        }
        const bool done = mode == ZSTD_e_continue ? in.pos == in.size : remaining == 0;
        if (done) return;
    }
}

void ZstdWriter::write(std::span<const std::byte> data) {
    drain(data, ZSTD_e_continue);
}

uint64_t ZstdWriter::finish() {
    drain({}, ZSTD_e_end);
    return written_;
}

ZstdReader::ZstdReader(int fd)
    : fd_(fd),
      ctx_(ZSTD_createDCtx(), &ZSTD_freeDCtx),
      in_(std::make_unique_for_overwrite<std::byte[]>(ZSTD_DStreamInSize())),
      in_size_(ZSTD_DStreamInSize()) {
    if (!ctx_) throw std::runtime_error("zstd: cannot create decompression context");
}

ZstdReader::~ZstdReader() = default;

std::size_t ZstdReader::read(std::span<std::byte> dest) {
    ZSTD_outBuffer out{dest.data(), dest.size(), 0};
    while (out.pos < out.size) {
        if (in_pos_ == in_end_) {
            if (eof_) break;
            in_end_ = io::read_some(fd_, {in_.get(), in_size_});
            in_pos_ = 0;
            if (in_end_ == 0) {
                eof_ = true;
                break;
            }
        }
        ZSTD_inBuffer in{in_.get(), in_end_, in_pos_};
        const std::size_t rc = ZSTD_decompressStream(ctx_.get(), &out, &in);
        check(rc, "zstd decompress");
        in_pos_ = in.pos;
        frame_done_ = rc == 0;
    }
    if (out.pos == 0 && eof_ && !frame_done_) {
        throw std::runtime_error("zstd decompress: truncated frame");
    }
    return out.pos;
}

}  // namespace countylink::compress
