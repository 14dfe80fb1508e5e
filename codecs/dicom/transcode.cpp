#include "codecs/dicom/transcode.hpp"

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>

#include <algorithm>
#include <array>

namespace countylink::codecs::dicom {
namespace {

// What the registered decoders and dcmdata read: the uncompressed syntaxes, Deflated, RLE,
// JPEG baseline, extended, lossless (process 14 and its first-order prediction), JPEG-LS
// lossless and near-lossless.
constexpr std::array<std::string_view, 11> kReadable{
    "1.2.840.10008.1.2",      "1.2.840.10008.1.2.1",    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.5",    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"};

}  // namespace

Decoders::Decoders() {
    // Decompression keeps the SOP Instance UID: the viewer asked for that instance.
    DJDecoderRegistration::registerCodecs(EDC_photometricInterpretation, EUC_never);
    DJLSDecoderRegistration::registerCodecs(EJLSUC_never);
    DcmRLEDecoderRegistration::registerCodecs(OFFalse);
}

Decoders::~Decoders() {
    DcmRLEDecoderRegistration::cleanup();
    DJLSDecoderRegistration::cleanup();
    DJDecoderRegistration::cleanup();
}

bool can_transcode(std::string_view from, std::string_view to) {
    const bool known = std::find(kReadable.begin(), kReadable.end(), from) != kReadable.end();
    return (to == kImplicitLittleEndian || to == kExplicitLittleEndian) && known;
}

std::string transcode_dataset(const std::filesystem::path& in, const std::filesystem::path& out,
                              std::string_view to, std::uint64_t max_bytes) {
    DcmFileFormat file;
    if (OFCondition c = file.loadFile(in.c_str()); c.bad()) {
        return std::string("cannot read the stored object: ") + c.text();
    }
    DcmDataset& ds = *file.getDataset();
    // The bound is on what decompression makes: a short JPEG cine can be gigabytes raw.
    Uint16 rows = 0, columns = 0, samples = 1, bits = 0;
    Sint32 frames = 1;
    ds.findAndGetUint16(DCM_Rows, rows);
    ds.findAndGetUint16(DCM_Columns, columns);
    ds.findAndGetUint16(DCM_SamplesPerPixel, samples);
    ds.findAndGetUint16(DCM_BitsAllocated, bits);
    ds.findAndGetSint32(DCM_NumberOfFrames, frames);
    const std::uint64_t decompressed = std::uint64_t{rows} * columns * samples *
                                       ((bits + 7u) / 8u) *
                                       static_cast<std::uint64_t>(std::max(frames, 1));
    if (decompressed > max_bytes) {
        return "decompressed it would be " + std::to_string(decompressed) + " bytes, over " +
               std::to_string(max_bytes);
    }
    const E_TransferSyntax target = DcmXfer(std::string(to).c_str()).getXfer();
    if (target == EXS_Unknown) return "unknown transfer syntax " + std::string(to);
    if (OFCondition c = ds.chooseRepresentation(target, nullptr);
        c.bad() || !ds.canWriteXfer(target)) {
        return std::string("cannot decompress from ") +
               DcmXfer(ds.getOriginalXfer()).getXferName() +
               (c.bad() ? std::string(": ") + c.text() : "");
    }
    if (OFCondition c = ds.saveFile(out.c_str(), target, EET_ExplicitLength); c.bad()) {
        return std::string("cannot write the transcoded dataset: ") + c.text();
    }
    return {};
}

}  // namespace countylink::codecs::dicom
