#include "codecs/dicom/deferring_stream.hpp"

#include <memory>
#include <utility>

namespace countylink::codecs::dicom {

namespace {

// Reopens the file and inflates up to a deferred value. Only runs when someone loads a deferred
// value of a Deflated object.
class InflatedValueFactory final : public DcmInputStreamFactory {
  public:
    InflatedValueFactory(OFFilename file, E_StreamCompression compression, offile_off_t raw_offset,
                         offile_off_t inflated_offset)
        : file_(std::move(file)),
          compression_(compression),
          raw_offset_(raw_offset),
          inflated_offset_(inflated_offset) {}

    DcmInputStream* create() const override {
        auto stream = std::make_unique<DcmInputFileStream>(file_);
        stream->skip(raw_offset_);
        stream->installCompressionFilter(compression_);
        stream->skip(inflated_offset_);
        return stream.release();
    }

    DcmInputStreamFactory* clone() const override { return new InflatedValueFactory(*this); }

    DcmInputStreamFactoryType ident() const override { return DFT_DcmInputFileStreamFactory; }

  private:
    OFFilename file_;
    E_StreamCompression compression_;
    offile_off_t raw_offset_;
    offile_off_t inflated_offset_;
};

}  // namespace

DeferringFileStream::DeferringFileStream(const OFFilename& file)
    : DcmInputFileStream(file), file_(file) {}

OFCondition DeferringFileStream::installCompressionFilter(E_StreamCompression compression) {
    raw_offset_ = tell();
    compression_ = compression;
    return DcmInputFileStream::installCompressionFilter(compression);
}

DcmInputStreamFactory* DeferringFileStream::newFactory() const {
    if (compression_ == ESC_none) return DcmInputFileStream::newFactory();
    return new InflatedValueFactory(file_, compression_, raw_offset_, tell() - raw_offset_);
}

}  // namespace countylink::codecs::dicom
