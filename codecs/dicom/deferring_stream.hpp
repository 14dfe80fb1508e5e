// A DCMTK file input stream that leaves long values on disk even behind a zlib filter (Deflated
// transfer syntax), so reading a spooled object never inflates its bulk data into memory.
#pragma once

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers

#include <dcmtk/dcmdata/dcistrmf.h>

namespace countylink::codecs::dicom {

// DcmInputFileStream stops deferring values once a zlib filter is installed, so DCMTK would
// inflate every value into memory: a 1 MB deflated file can hold 1 GB of zeros. This stream keeps
// deferring; loading or skipping a deferred value then inflates it from the file again.
class DeferringFileStream final : public DcmInputFileStream {
  public:
    explicit DeferringFileStream(const OFFilename& file);

    OFCondition installCompressionFilter(E_StreamCompression compression) override;
    DcmInputStreamFactory* newFactory() const override;

    // True once the dataset turned out to be deflated.
    bool compressed() const { return compression_ != ESC_none; }

  private:
    OFFilename file_;
    E_StreamCompression compression_ = ESC_none;
    offile_off_t raw_offset_ = 0;
};

}  // namespace countylink::codecs::dicom
