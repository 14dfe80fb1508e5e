#include "codecs/compress/zstd_stream.hpp"

#include <zstd.h>

#include <stdexcept>
#include <string>

#include "codecs/io/file.hpp"

namespace countylink::compress {
namespace {

void check(std::size_t rc, const char* what) {
    if (ZSTD_isError(rc))
        throw std::runtime_error(std::string(what) + ": " + ZSTD_getErrorName(rc));
}

}  // namespace

ZstdWriter::ZstdWriter(int fd, int level)
    : fd_(fd),
      ctx_(ZSTD_createCCtx(), &ZSTD_freeCCtx),
      out_(std::make_unique_for_overwrite<std::byte[]>(ZSTD_CStreamOutSize())),
      out_size_(ZSTD_CStreamOutSize()) {
    if (!ctx_) throw std::runtime_error("zstd: cannot create compression context");
    check(ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_compressionLevel, level), "zstd level");
    check(ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_checksumFlag, 1), "zstd checksum");
}

ZstdWriter::~ZstdWriter() = default;

void ZstdWriter::drain(std::span<const std::byte> data, int mode) {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    for (;;) {
        ZSTD_outBuffer out{out_.get(), out_size_, 0};
        const std::size_t remaining =
            ZSTD_compressStream2(ctx_.get(), &out, &in, static_cast<ZSTD_EndDirective>(mode));
        check(remaining, "zstd compress");
        io::write_all(fd_, {out_.get(), out.pos});
        written_ += out.pos;
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
