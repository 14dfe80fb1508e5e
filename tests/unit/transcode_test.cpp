// Transcoding for viewers: lossless compressions of one MR image come back to the same pixels
// as its uncompressed original, in either little-endian syntax, with the SOP Instance UID kept;
// lossy JPEG decodes to the right size; JPEG 2000 is refused with a reason.
#include "codecs/dicom/transcode.hpp"

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/shared_data.hpp"
#include "tests/support/temp_dir.hpp"

namespace countylink::codecs::dicom {
namespace {

namespace fs = std::filesystem;
using countylink::testing::shared_path;

constexpr const char* kImplicit = "1.2.840.10008.1.2";
constexpr const char* kExplicit = "1.2.840.10008.1.2.1";

fs::path corpus(const std::string& name) {
    const fs::path p = shared_path("corpus/dicom") / name;
    if (!fs::exists(p)) throw std::runtime_error("missing shared corpus file " + p.string());
    return p;
}

struct Decoded {
    std::string sop_instance_uid;
    std::vector<Uint16> pixels;
};

// A bare dataset as transcode_dataset writes it, read in `syntax`.
Decoded read_dataset(const fs::path& file, const char* syntax) {
    DcmDataset ds;
    EXPECT_TRUE(ds.loadFile(file.c_str(), DcmXfer(syntax).getXfer()).good()) << file;
    Decoded d;
    OFString uid;
    ds.findAndGetOFString(DCM_SOPInstanceUID, uid);
    d.sop_instance_uid = uid.c_str();
    const Uint16* words = nullptr;
    unsigned long count = 0;
    EXPECT_TRUE(ds.findAndGetUint16Array(DCM_PixelData, words, &count).good()) << file;
    if (words) d.pixels.assign(words, words + count);
    return d;
}

// The uncompressed original's pixels, as DCMTK reads them.
Decoded original(const fs::path& file) {
    DcmFileFormat ff;
    EXPECT_TRUE(ff.loadFile(file.c_str()).good());
    Decoded d;
    OFString uid;
    ff.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, uid);
    d.sop_instance_uid = uid.c_str();
    const Uint16* words = nullptr;
    unsigned long count = 0;
    EXPECT_TRUE(ff.getDataset()->findAndGetUint16Array(DCM_PixelData, words, &count).good());
    if (words) d.pixels.assign(words, words + count);
    return d;
}

class Transcode : public ::testing::Test {
  protected:
    Decoders decoders_;
    countylink::testing::TempDir dir_;
};

TEST_F(Transcode, LosslessCompressionsGiveBackTheOriginalPixels) {
    const Decoded want = original(corpus("MR_small.dcm"));
    ASSERT_FALSE(want.pixels.empty());
    for (const char* name :
         {"MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_bigendian.dcm"}) {
        for (const char* to : {kExplicit, kImplicit}) {
            const fs::path out = dir_.path() / (std::string(name) + to);
            ASSERT_EQ(transcode_dataset(corpus(name), out, to), "") << name << " -> " << to;
            const Decoded got = read_dataset(out, to);
            EXPECT_EQ(got.sop_instance_uid, want.sop_instance_uid) << name;
            EXPECT_TRUE(got.pixels == want.pixels) << name << " -> " << to;
        }
    }
}

TEST_F(Transcode, LossyJpegDecodesToTheImageSize) {
    const fs::path in = corpus("JPGExtended.dcm");
    ASSERT_TRUE(can_transcode("1.2.840.10008.1.2.4.51", kExplicit));
    const fs::path out = dir_.path() / "jpeg.dcm";
    ASSERT_EQ(transcode_dataset(in, out, kExplicit), "");
    DcmDataset ds;
    ASSERT_TRUE(ds.loadFile(out.c_str(), EXS_LittleEndianExplicit).good());
    Uint16 rows = 0, cols = 0, bits = 0, samples = 0;
    ds.findAndGetUint16(DCM_Rows, rows);
    ds.findAndGetUint16(DCM_Columns, cols);
    ds.findAndGetUint16(DCM_BitsAllocated, bits);
    ds.findAndGetUint16(DCM_SamplesPerPixel, samples);
    DcmElement* pixels = nullptr;
    ASSERT_TRUE(ds.findAndGetElement(DCM_PixelData, pixels).good());
    EXPECT_EQ(pixels->getLength(), Uint32(rows) * cols * samples * (bits / 8));
    DcmFileFormat source;
    ASSERT_TRUE(source.loadFile(in.c_str()).good());
    OFString want, got;
    source.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, want);
    ds.findAndGetOFString(DCM_SOPInstanceUID, got);
    EXPECT_EQ(got, want) << "the viewer asked for this instance";
}

// The bound is on what decompression makes, not on the stored size: a short JPEG cine can be
// gigabytes raw. This image is 1024 x 256 x 2 bytes decompressed.
TEST_F(Transcode, ObjectsThatDecompressBeyondTheBoundAreRefused) {
    const fs::path out = dir_.path() / "big.dcm";
    const std::string error =
        transcode_dataset(corpus("JPGExtended.dcm"), out, kExplicit, 512u * 1024 - 1);
    EXPECT_NE(error.find("decompressed it would be 524288 bytes"), std::string::npos) << error;
    EXPECT_EQ(transcode_dataset(corpus("JPGExtended.dcm"), out, kExplicit, 512u * 1024), "");
}

TEST_F(Transcode, Jpeg2000AndCompressedTargetsAreRefusedWithAReason) {
    EXPECT_FALSE(can_transcode("1.2.840.10008.1.2.4.90", kExplicit));
    EXPECT_FALSE(can_transcode("1.2.840.10008.1.2.1", "1.2.840.10008.1.2.4.50"));
    const std::string error =
        transcode_dataset(corpus("MR_small_jp2klossless.dcm"), dir_.path() / "j2k.dcm", kExplicit);
    EXPECT_NE(error.find("cannot decompress from JPEG 2000"), std::string::npos) << error;
}

}  // namespace
}  // namespace countylink::codecs::dicom
