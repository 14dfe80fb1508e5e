#include "codecs/dicom/dataset_check.hpp"
#include "codecs/dicom/text_decoder.hpp"

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcvrobow.h>

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef COUNTYLINK_SHARED_DIR
#error "COUNTYLINK_SHARED_DIR (path to the shared test corpus) must be defined"
#endif

namespace {

namespace fs = std::filesystem;
using countylink::codecs::dicom::always_fatal_codes;
using countylink::codecs::dicom::check_part10_file;
using countylink::codecs::dicom::CheckReport;
using countylink::codecs::dicom::Expected;
using countylink::codecs::dicom::known_finding_codes;

// The default fatal set of the config: the five codes the design calls fatal.
const std::set<std::string>& default_fatal() {
    static const std::set<std::string> codes{"unparseable", "missing_uid", "malformed_uid",
                                             "uid_mismatch", "pixel_data_short"};
    return codes;
}

bool has(const CheckReport& report, const std::string& code) {
    return std::any_of(report.findings.begin(), report.findings.end(),
                       [&](const auto& f) { return f.code == code; });
}

std::string reason_of(const CheckReport& report, const std::string& code) {
    for (const auto& f : report.findings) {
        if (f.code == code) return f.reason;
    }
    return {};
}

// For failure messages.
std::string describe(const CheckReport& report) {
    std::string out = report.fatal ? "fatal;" : "not fatal;";
    for (const auto& f : report.findings) out += " [" + f.code + ": " + f.reason + "]";
    return out;
}

// What the C-STORE request would have said: read straight from the file with DCMTK.
Expected expected_from(const fs::path& path) {
    DcmFileFormat file;
    EXPECT_TRUE(file.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, 4096).good()) << path;
    OFString sop_class;
    OFString sop_instance;
    file.getDataset()->findAndGetOFString(DCM_SOPClassUID, sop_class);
    file.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, sop_instance);
    return {sop_class.c_str(), sop_instance.c_str()};
}

// Resident set size of this process, in KiB.
long current_rss_kib() {
    std::ifstream statm("/proc/self/statm");
    long total_pages = 0;
    long resident_pages = 0;
    statm >> total_pages >> resident_pages;
    return resident_pages * (sysconf(_SC_PAGESIZE) / 1024);
}

// Runs the check in a child process and returns how far the child's peak RSS rose during it,
// in KiB (-1 if the child failed): what the check itself holds in memory, unaffected by what
// earlier tests allocated.
long check_rss_growth_kib(const fs::path& path, bool expect_fatal) {
    std::array<int, 2> fds{};
    if (pipe(fds.data()) != 0) return -1;
    const pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        long growth = -1;
        try {
            const long before = current_rss_kib();
            const CheckReport report = check_part10_file(path, {}, default_fatal());
            rusage usage{};
            getrusage(RUSAGE_SELF, &usage);
            if (report.fatal == expect_fatal) growth = usage.ru_maxrss - before;
        } catch (...) {
        }
        const bool sent = write(fds[1], &growth, sizeof growth) == sizeof growth;
        _exit(sent ? 0 : 1);
    }
    close(fds[1]);
    long growth = -1;
    if (pid < 0 || read(fds[0], &growth, sizeof growth) != sizeof growth) growth = -1;
    close(fds[0]);
    int status = 0;
    if (pid > 0) waitpid(pid, &status, 0);
    return growth;
}

class DatasetCheckCorpusTest : public ::testing::Test {
  protected:
    void SetUp() override {
        corpus_ = fs::path(COUNTYLINK_SHARED_DIR) / "corpus";
        ASSERT_TRUE(fs::is_directory(corpus_ / "dicom") && fs::is_directory(corpus_ / "dicom-bad"))
            << "DICOM test corpus not found under " << corpus_
            << " (COUNTYLINK_SHARED_DIR); these tests need corpus/dicom and corpus/dicom-bad";
    }

    fs::path good(const std::string& name) const { return corpus_ / "dicom" / name; }
    fs::path bad(const std::string& name) const { return corpus_ / "dicom-bad" / name; }

    fs::path corpus_;
};

// Files in corpus/dicom/ that are fatal for a reason of their own, not because of this checker.
const std::map<std::string, std::string>& corpus_exceptions() {
    static const std::map<std::string, std::string> files{
        {"DICOMDIR", "a media directory, not a SOP instance"},
    };
    return files;
}

TEST_F(DatasetCheckCorpusTest, ValidCorpusFilesHaveNoFatalFinding) {
    int checked = 0;
    for (const auto& entry : fs::directory_iterator(corpus_ / "dicom")) {
        const std::string name = entry.path().filename().string();
        if (corpus_exceptions().count(name) > 0) continue;
        SCOPED_TRACE(name);
        const CheckReport report =
            check_part10_file(entry.path(), expected_from(entry.path()), default_fatal());
        EXPECT_FALSE(report.fatal) << describe(report);
        EXPECT_FALSE(report.ids.sop_instance_uid.empty());
        EXPECT_FALSE(report.ids.transfer_syntax_uid.empty());
        ++checked;
    }
    EXPECT_GE(checked, 30) << "corpus/dicom looks incomplete";
}

// These files lack Study/Series identifiers: stored with a warning, not refused (storescp
// takes them, and a township study must not be lost to pedantry).
TEST_F(DatasetCheckCorpusTest, CorpusFilesWithoutStudyIdentifiersOnlyWarn) {
    for (const std::string name : {"JPEGLSNearLossless_16.dcm", "multiframe.dcm"}) {
        SCOPED_TRACE(name);
        const CheckReport report = check_part10_file(good(name), {}, default_fatal());
        EXPECT_FALSE(report.fatal) << describe(report);
        EXPECT_TRUE(has(report, "missing_study_uid")) << describe(report);
        EXPECT_FALSE(has(report, "missing_uid")) << describe(report);
        // ... and a county that wants them refused can say so in the config.
        auto strict = default_fatal();
        strict.insert("missing_study_uid");
        EXPECT_TRUE(check_part10_file(good(name), {}, strict).fatal);
    }
}

TEST_F(DatasetCheckCorpusTest, TruncatedFileIsUnparseable) {
    const CheckReport report = check_part10_file(bad("MR_truncated.dcm"), {}, default_fatal());
    EXPECT_TRUE(report.fatal);
    EXPECT_TRUE(has(report, "unparseable")) << describe(report);
}

TEST_F(DatasetCheckCorpusTest, GzipFileIsUnparseable) {
    const CheckReport report = check_part10_file(bad("zipMR.gz"), {}, default_fatal());
    EXPECT_TRUE(report.fatal);
    EXPECT_TRUE(has(report, "unparseable")) << describe(report);
}

TEST_F(DatasetCheckCorpusTest, PaddedPixelDataIsOnlyAWarning) {
    const fs::path path = bad("MR_small_padded.dcm");
    const CheckReport report = check_part10_file(path, expected_from(path), default_fatal());
    EXPECT_TRUE(has(report, "pixel_data_padded")) << describe(report);
    EXPECT_FALSE(has(report, "pixel_data_short"));
    EXPECT_FALSE(report.fatal) << describe(report);
}

TEST_F(DatasetCheckCorpusTest, MismatchedSopInstanceUid) {
    const fs::path path = good("MR_small.dcm");
    Expected expected = expected_from(path);
    const CheckReport same = check_part10_file(path, expected, default_fatal());
    EXPECT_FALSE(has(same, "uid_mismatch")) << describe(same);

    expected.sop_instance_uid = "1.2.826.0.1.3680043.2.1125.99";
    const CheckReport other = check_part10_file(path, expected, default_fatal());
    EXPECT_TRUE(has(other, "uid_mismatch")) << describe(other);
    EXPECT_TRUE(other.fatal);
    EXPECT_EQ(other.ids.sop_instance_uid, expected_from(path).sop_instance_uid);
}

TEST_F(DatasetCheckCorpusTest, MismatchedSopClassUid) {
    const fs::path path = good("MR_small.dcm");
    Expected expected = expected_from(path);
    expected.sop_class_uid = UID_CTImageStorage;
    const CheckReport report = check_part10_file(path, expected, default_fatal());
    EXPECT_TRUE(has(report, "uid_mismatch")) << describe(report);
}

TEST_F(DatasetCheckCorpusTest, MissingUidIsFatalWhateverTheConfig) {
    for (const char* name : {"no_meta_group_length.dcm", "empty_charset_LEI.dcm"}) {
        SCOPED_TRACE(name);
        const CheckReport report = check_part10_file(bad(name), {}, {});
        EXPECT_TRUE(has(report, "missing_uid")) << describe(report);
        EXPECT_TRUE(report.fatal);
    }
}

TEST_F(DatasetCheckCorpusTest, DeflatedAndBigEndianParse) {
    const std::map<std::string, std::string> files{
        {"image_dfl.dcm", UID_DeflatedExplicitVRLittleEndianTransferSyntax},
        {"MR_small_bigendian.dcm", UID_BigEndianExplicitTransferSyntax},
        {"SC_rgb_small_odd_big_endian.dcm", UID_BigEndianExplicitTransferSyntax},
    };
    for (const auto& [name, ts] : files) {
        SCOPED_TRACE(name);
        const fs::path path = good(name);
        const CheckReport report = check_part10_file(path, expected_from(path), default_fatal());
        EXPECT_FALSE(has(report, "unparseable")) << describe(report);
        EXPECT_EQ(report.ids.transfer_syntax_uid, ts);
        EXPECT_FALSE(report.ids.study_instance_uid.empty());
    }
}

TEST_F(DatasetCheckCorpusTest, IdentifiersAreFilledAndTrimmed) {
    const CheckReport report = check_part10_file(good("CT_small.dcm"), {}, default_fatal());
    EXPECT_EQ(report.ids.modality, "CT");
    EXPECT_EQ(report.ids.transfer_syntax_uid, UID_LittleEndianExplicitTransferSyntax);
    EXPECT_EQ(report.ids.sop_class_uid, UID_CTImageStorage);
    EXPECT_FALSE(report.ids.patient_id.empty());
    EXPECT_FALSE(report.ids.patient_name.empty());
    EXPECT_EQ(report.ids.study_date.size(), 8u);
    for (const std::string* s : {&report.ids.patient_id, &report.ids.patient_name,
                                 &report.ids.sop_instance_uid, &report.ids.modality}) {
        EXPECT_EQ(s->find_last_not_of(std::string(" \0", 2)) + 1, s->size()) << *s;
    }
}

TEST_F(DatasetCheckCorpusTest, InvalidTextValuesAreWarnings) {
    // StudyDate "1993.04.30" in an old ACR-NEMA style file.
    const fs::path path = good("CT-MONO2-16-ankle");
    const CheckReport report = check_part10_file(path, expected_from(path), default_fatal());
    EXPECT_TRUE(has(report, "bad_text_value")) << describe(report);
    EXPECT_NE(reason_of(report, "bad_text_value").find("StudyDate (0008,0020)"), std::string::npos);
    EXPECT_FALSE(report.fatal);
}

TEST(DatasetCheckCodes, CodeSetsAreConsistent) {
    EXPECT_EQ(known_finding_codes().size(), 13u);
    EXPECT_EQ(always_fatal_codes(), (std::set<std::string>{"unparseable", "missing_uid"}));
    for (const auto& code : always_fatal_codes()) EXPECT_EQ(known_finding_codes().count(code), 1u);
    for (const auto& code : default_fatal()) EXPECT_EQ(known_finding_codes().count(code), 1u);
    for (const auto& code : countylink::codecs::dicom::notice_codes()) {
        EXPECT_EQ(known_finding_codes().count(code), 1u);
        EXPECT_EQ(always_fatal_codes().count(code), 0u);
    }
}

TEST(DatasetCheckCodes, MissingFileThrows) {
    EXPECT_THROW(check_part10_file("/nonexistent/countylink/none.dcm", {}, default_fatal()),
                 std::runtime_error);
}

// Files built with DCMTK in a private temp directory.
class DatasetCheckBuiltFileTest : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = fs::temp_directory_path() /
               ("countylink_dataset_check_" + std::to_string(getpid()) + "_" + info->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }

    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    // A valid 8-bit Secondary Capture image of `rows` x `cols` with `pixel_bytes` of pixel data
    // (none when negative).
    static void fill_image(DcmDataset& ds, Uint16 rows, Uint16 cols, long pixel_bytes) {
        ds.putAndInsertString(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
        ds.putAndInsertString(DCM_SOPInstanceUID, "1.2.826.0.1.3680043.2.1125.1.1");
        ds.putAndInsertString(DCM_StudyInstanceUID, "1.2.826.0.1.3680043.2.1125.1.2");
        ds.putAndInsertString(DCM_SeriesInstanceUID, "1.2.826.0.1.3680043.2.1125.1.3");
        ds.putAndInsertString(DCM_PatientID, "TEST-0001");
        ds.putAndInsertString(DCM_PatientName, "TEST^PATIENT");
        ds.putAndInsertString(DCM_Modality, "OT");
        ds.putAndInsertString(DCM_StudyDate, "20240131");
        ds.putAndInsertString(DCM_ConversionType, "WSD");
        ds.putAndInsertUint16(DCM_Rows, rows);
        ds.putAndInsertUint16(DCM_Columns, cols);
        ds.putAndInsertUint16(DCM_SamplesPerPixel, 1);
        ds.putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
        ds.putAndInsertUint16(DCM_BitsAllocated, 8);
        ds.putAndInsertUint16(DCM_BitsStored, 8);
        ds.putAndInsertUint16(DCM_HighBit, 7);
        ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
        if (pixel_bytes >= 0) {
            const std::vector<Uint8> pixels(static_cast<std::size_t>(pixel_bytes), 0x40);
            ds.putAndInsertUint8Array(DCM_PixelData, pixels.data(), pixels.size());
        }
    }

    fs::path save(DcmFileFormat& file, const std::string& name,
                  E_TransferSyntax xfer = EXS_LittleEndianExplicit,
                  E_EncodingType encoding = EET_ExplicitLength) {
        const fs::path path = dir_ / name;
        const OFCondition status = file.saveFile(path.c_str(), xfer, encoding);
        EXPECT_TRUE(status.good()) << status.text();
        return path;
    }

    fs::path dir_;

  public:
    // For helpers outside the fixture: a clean 4x4 image, and a file of it under a fresh name.
    static void fill(DcmDataset& ds) { fill_image(ds, 4, 4, 16); }
    fs::path write(DcmFileFormat& file) { return save(file, std::to_string(++saved_) + ".dcm"); }

  private:
    int saved_ = 0;
};

TEST_F(DatasetCheckBuiltFileTest, CleanFileHasNoFindings) {
    DcmFileFormat file;
    fill_image(*file.getDataset(), 4, 4, 16);
    const CheckReport report = check_part10_file(save(file, "clean.dcm"), {}, default_fatal());
    EXPECT_TRUE(report.findings.empty()) << describe(report);
    EXPECT_FALSE(report.fatal);
    EXPECT_EQ(report.ids.patient_id, "TEST-0001");
    EXPECT_EQ(report.ids.study_date, "20240131");
}

TEST_F(DatasetCheckBuiltFileTest, ShortPixelDataIsFatalByDefault) {
    DcmFileFormat file;
    fill_image(*file.getDataset(), 4, 4, 10);
    const fs::path path = save(file, "short.dcm");
    const CheckReport report = check_part10_file(path, {}, default_fatal());
    EXPECT_TRUE(has(report, "pixel_data_short")) << describe(report);
    EXPECT_TRUE(report.fatal);

    // A site may downgrade it to a warning.
    std::set<std::string> lenient = default_fatal();
    lenient.erase("pixel_data_short");
    EXPECT_FALSE(check_part10_file(path, {}, lenient).fatal);
}

TEST_F(DatasetCheckBuiltFileTest, OneBitPixelDataRoundsUpToWholeBytes) {
    DcmFileFormat file;
    DcmDataset& ds = *file.getDataset();
    fill_image(ds, 3, 3, 2);  // 9 bits need 2 bytes
    ds.putAndInsertUint16(DCM_BitsAllocated, 1);
    ds.putAndInsertUint16(DCM_BitsStored, 1);
    ds.putAndInsertUint16(DCM_HighBit, 0);
    const CheckReport report = check_part10_file(save(file, "bits1.dcm"), {}, default_fatal());
    EXPECT_FALSE(has(report, "pixel_data_short")) << describe(report);
    EXPECT_FALSE(has(report, "pixel_data_padded")) << describe(report);
}

TEST_F(DatasetCheckBuiltFileTest, BadStudyDateIsAWarning) {
    DcmFileFormat file;
    fill_image(*file.getDataset(), 4, 4, 16);
    file.getDataset()->putAndInsertString(DCM_StudyDate, "2024-01-31");
    const CheckReport report = check_part10_file(save(file, "date.dcm"), {}, default_fatal());
    EXPECT_TRUE(has(report, "bad_text_value")) << describe(report);
    EXPECT_NE(reason_of(report, "bad_text_value").find("StudyDate (0008,0020)"), std::string::npos);
    EXPECT_FALSE(report.fatal);
}

TEST_F(DatasetCheckBuiltFileTest, BadTextInsideSequenceIsFound) {
    DcmFileFormat file;
    DcmDataset& ds = *file.getDataset();
    fill_image(ds, 4, 4, 16);
    DcmItem* item = nullptr;
    ASSERT_TRUE(ds.findOrCreateSequenceItem(DCM_ReferencedStudySequence, item, -2).good());
    item->putAndInsertString(DCM_ReferencedSOPClassUID, UID_SecondaryCaptureImageStorage);
    item->putAndInsertString(DCM_ReferencedSOPInstanceUID, "1.2.03.4");
    const CheckReport report = check_part10_file(save(file, "nested.dcm"), {}, default_fatal());
    EXPECT_NE(reason_of(report, "bad_text_value").find("ReferencedSOPInstanceUID"),
              std::string::npos)
        << describe(report);
    EXPECT_FALSE(has(report, "malformed_uid"));
}

TEST_F(DatasetCheckBuiltFileTest, MalformedSopInstanceUidIsFatal) {
    DcmFileFormat file;
    fill_image(*file.getDataset(), 4, 4, 16);
    file.getDataset()->putAndInsertString(DCM_SOPInstanceUID, "1.2.840.01.5");
    const CheckReport report = check_part10_file(save(file, "uid.dcm"), {}, default_fatal());
    EXPECT_TRUE(has(report, "malformed_uid")) << describe(report);
    EXPECT_NE(reason_of(report, "malformed_uid").find("SOP Instance UID"), std::string::npos);
    EXPECT_TRUE(report.fatal);
}

TEST_F(DatasetCheckBuiltFileTest, MissingPatientIdAndModalityAreWarnings) {
    DcmFileFormat file;
    DcmDataset& ds = *file.getDataset();
    fill_image(ds, 4, 4, 16);
    delete ds.remove(DCM_PatientID);
    ds.putAndInsertString(DCM_Modality, "");
    const CheckReport report = check_part10_file(save(file, "noid.dcm"), {}, default_fatal());
    EXPECT_TRUE(has(report, "missing_patient_id")) << describe(report);
    EXPECT_TRUE(has(report, "missing_modality")) << describe(report);
    EXPECT_FALSE(report.fatal);
}

TEST_F(DatasetCheckBuiltFileTest, KnownElementSentAsUnIsAWarning) {
    DcmFileFormat file;
    DcmDataset& ds = *file.getDataset();
    fill_image(ds, 4, 4, 16);
    auto un = std::make_unique<DcmOtherByteOtherWord>(DcmTag(DCM_PatientAge, EVR_UN));
    const std::array<Uint8, 4> age{'0', '4', '2', 'Y'};
    ASSERT_TRUE(un->putUint8Array(age.data(), age.size()).good());
    ASSERT_TRUE(ds.insert(un.release(), true).good());
    const CheckReport report = check_part10_file(save(file, "un.dcm"), {}, default_fatal());
    EXPECT_NE(reason_of(report, "vr_un_known").find("PatientAge (0010,1010)"), std::string::npos)
        << describe(report);
    EXPECT_FALSE(report.fatal);
}

// A file cut right after a sequence header or inside an undefined-length sequence: DCMTK
// itself reports success for these.
TEST_F(DatasetCheckBuiltFileTest, FileCutInsideLastSequenceIsUnparseable) {
    for (const E_EncodingType encoding : {EET_ExplicitLength, EET_UndefinedLength}) {
        DcmFileFormat file;
        DcmDataset& ds = *file.getDataset();
        fill_image(ds, 4, 4, -1);  // no pixel data, so the sequence is the last element
        DcmItem* item = nullptr;
        ASSERT_TRUE(ds.findOrCreateSequenceItem(DCM_ContentSequence, item, -2).good());
        item->putAndInsertString(DCM_ObservationDateTime, "20240131120000");
        const fs::path path = save(file, "seq.dcm", EXS_LittleEndianExplicit, encoding);
        SCOPED_TRACE(encoding == EET_ExplicitLength ? "explicit length" : "undefined length");
        ASSERT_FALSE(check_part10_file(path, {}, default_fatal()).fatal);

        // Explicit: keep only the sequence header. Undefined: drop the last delimiter.
        const auto size = fs::file_size(path);
        const std::uintmax_t item_bytes = 8 + 8 + 14;
        fs::resize_file(path, encoding == EET_ExplicitLength ? size - item_bytes : size - 8);
        const CheckReport report = check_part10_file(path, {}, default_fatal());
        EXPECT_TRUE(has(report, "unparseable")) << describe(report);
    }
}

// Large values must stay on disk: a 1 GiB (sparse) native image, read through seek.
TEST_F(DatasetCheckBuiltFileTest, LargePixelDataIsNotLoaded) {
    constexpr Uint16 kSide = 32768;
    constexpr std::uint32_t kPixelBytes = 1u << 30;
    DcmFileFormat file;
    fill_image(*file.getDataset(), kSide, kSide, -1);
    const fs::path path = save(file, "big.dcm");
    {
        // Pixel Data is the last element: append its header, then a hole of kPixelBytes.
        std::ofstream out(path, std::ios::binary | std::ios::app);
        const std::array<unsigned char, 12> header{0xe0, 0x7f, 0x10, 0x00, 'O',  'B',
                                                   0,    0,    0x00, 0x00, 0x00, 0x40};
        out.write(reinterpret_cast<const char*>(header.data()), header.size());
    }
    fs::resize_file(path, fs::file_size(path) + kPixelBytes);
    const long growth = check_rss_growth_kib(path, false);
    ASSERT_GE(growth, 0) << "check failed in the child process";
    EXPECT_LT(growth, 32 * 1024) << "check used " << growth << " KiB for a 1 GiB object";
}

// Deflated objects too: 64 MiB of zeros deflate to well under 1 MiB.
TEST_F(DatasetCheckBuiltFileTest, LargeDeflatedPixelDataIsNotLoaded) {
    constexpr Uint16 kSide = 8192;
    DcmFileFormat file;
    fill_image(*file.getDataset(), kSide, kSide, -1);
    {
        const std::vector<Uint8> zeros(std::size_t{kSide} * kSide, 0);
        file.getDataset()->putAndInsertUint8Array(DCM_PixelData, zeros.data(), zeros.size());
    }
    const fs::path path = save(file, "big_dfl.dcm", EXS_DeflatedLittleEndianExplicit);
    file.clear();
    ASSERT_LT(fs::file_size(path), 1u << 20);
    const long growth = check_rss_growth_kib(path, false);
    ASSERT_GE(growth, 0) << "check failed in the child process";
    EXPECT_LT(growth, 32 * 1024) << "check used " << growth << " KiB for a 64 MiB object";
}

// --- character sets: the index holds UTF-8 whatever the equipment sent ---------------------------

// GB18030 bytes of 张三 and 胸部正位 (chest PA).
const std::string kZhangSanGb18030 = "\xD5\xC5\xC8\xFD";
const std::string kChestGb18030 = "\xD0\xD8\xB2\xBF\xD5\xFD\xCE\xBB";
const std::string kZhangSan = "张三";
const std::string kChest = "胸部正位";

// Built file with `charset` as (0008,0005) (absent when empty) and the given name/description.
CheckReport check_text(DatasetCheckBuiltFileTest& test, const std::string& charset,
                       const std::string& name, const std::string& description) {
    DcmFileFormat file;
    DcmDataset& ds = *file.getDataset();
    test.fill(ds);
    if (!charset.empty()) ds.putAndInsertString(DCM_SpecificCharacterSet, charset.c_str());
    ds.putAndInsertOFStringArray(DCM_PatientName, OFString(name.data(), name.size()));
    ds.putAndInsertOFStringArray(DCM_StudyDescription,
                                 OFString(description.data(), description.size()));
    return check_part10_file(test.write(file), {}, default_fatal());
}

TEST_F(DatasetCheckCorpusTest, JapaneseIso2022NameIsReadAsUtf8) {
    // (0008,0005) "\ISO 2022 IR 87": JIS X 0208 behind escape sequences, in three PN groups.
    const CheckReport report = check_part10_file(good("chrH31.dcm"), {}, default_fatal());
    EXPECT_EQ(report.ids.patient_name, "Yamada^Tarou=山田^太郎=やまだ^たろう");
    EXPECT_FALSE(has(report, "character_set_not_converted")) << describe(report);
    EXPECT_FALSE(has(report, "undeclared_character_set")) << describe(report);
    EXPECT_FALSE(report.fatal);
}

// Every corpus file converts as it declares (none falls back to '?').
TEST_F(DatasetCheckCorpusTest, CorpusTextConvertsToUtf8) {
    for (const auto& entry : fs::directory_iterator(corpus_ / "dicom")) {
        SCOPED_TRACE(entry.path().filename().string());
        const CheckReport report = check_part10_file(entry.path(), {}, default_fatal());
        EXPECT_FALSE(has(report, "character_set_not_converted")) << describe(report);
        for (const std::string* s :
             {&report.ids.patient_name, &report.ids.patient_id, &report.ids.study_description,
              &report.ids.accession_number, &report.ids.body_part}) {
            EXPECT_TRUE(countylink::codecs::dicom::is_valid_utf8(*s)) << *s;
        }
    }
}

TEST_F(DatasetCheckBuiltFileTest, Gb18030IsReadAsUtf8) {
    for (const std::string charset : {"GB18030", "GBK"}) {
        SCOPED_TRACE(charset);
        const CheckReport report = check_text(*this, charset, kZhangSanGb18030, kChestGb18030);
        EXPECT_EQ(report.ids.patient_name, kZhangSan);
        EXPECT_EQ(report.ids.study_description, kChest);
        EXPECT_TRUE(report.findings.empty()) << describe(report);
    }
}

TEST_F(DatasetCheckBuiltFileTest, PersonNameKeepsItsComponentGroups) {
    const CheckReport report =
        check_text(*this, "GB18030", "Zhang^San=" + kZhangSanGb18030 + "=zhang^san", "");
    EXPECT_EQ(report.ids.patient_name, "Zhang^San=" + kZhangSan + "=zhang^san");
    EXPECT_TRUE(report.findings.empty()) << describe(report);
}

TEST_F(DatasetCheckBuiltFileTest, UndeclaredGb18030IsReadAsGb18030WithANotice) {
    const CheckReport report = check_text(*this, "", kZhangSanGb18030, kChestGb18030);
    EXPECT_EQ(report.ids.patient_name, kZhangSan);
    EXPECT_EQ(report.ids.study_description, kChest);
    ASSERT_TRUE(has(report, "undeclared_character_set")) << describe(report);
    const std::string reason = reason_of(report, "undeclared_character_set");
    EXPECT_NE(reason.find("read as GB18030"), std::string::npos) << reason;
    EXPECT_NE(reason.find("PatientName (0010,0010)"), std::string::npos) << reason;
    EXPECT_NE(reason.find("StudyDescription (0008,1030)"), std::string::npos) << reason;
    EXPECT_EQ(report.findings.size(), 1u) << describe(report);
    EXPECT_FALSE(report.fatal);
    EXPECT_EQ(countylink::codecs::dicom::notice_codes().count("undeclared_character_set"), 1u);
}

TEST_F(DatasetCheckBuiltFileTest, Utf8IsKeptDeclaredOrNot) {
    for (const std::string charset : {"", "ISO_IR 192"}) {
        SCOPED_TRACE(charset);
        const CheckReport report = check_text(*this, charset, kZhangSan, kChest);
        EXPECT_EQ(report.ids.patient_name, kZhangSan);
        EXPECT_EQ(report.ids.study_description, kChest);
        EXPECT_TRUE(report.findings.empty()) << describe(report);
    }
}

// PS3.5 H.3.2: half-width Katakana in G1 from the start (IR 13), Kanji and Hiragana behind
// escapes, each group switching back to JIS X 0201 Romaji.
TEST_F(DatasetCheckBuiltFileTest, JapaneseKatakanaAndKanjiAreReadAsUtf8) {
    const std::string name =
        "\xD4\xCF\xC0\xDE^\xC0\xDB\xB3=\x1B$B;3ED\x1B(J^\x1B$BB@O:\x1B(J="
        "\x1B$B$d$^$@\x1B(J^\x1B$B$?$m$&\x1B(J";
    const CheckReport report = check_text(*this, "ISO 2022 IR 13\\ISO 2022 IR 87", name, "");
    EXPECT_EQ(report.ids.patient_name, "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう");
    EXPECT_TRUE(report.findings.empty()) << describe(report);
}

// PS3.5 I.2: Korean KS X 1001 in G1 behind an escape before every ideographic component.
TEST_F(DatasetCheckBuiltFileTest, KoreanIso2022IsReadAsUtf8) {
    const std::string name =
        "Hong^Gildong=\x1B$)C\xFB\xF3^\x1B$)C\xD1\xCE\xD4\xD7=\x1B$)C\xC8\xAB^\x1B$)C\xB1\xE6\xB5"
        "\xBF";
    const CheckReport report = check_text(*this, "\\ISO 2022 IR 149", name, "");
    EXPECT_EQ(report.ids.patient_name, "Hong^Gildong=洪^吉洞=홍^길동");
    EXPECT_TRUE(report.findings.empty()) << describe(report);
}

TEST_F(DatasetCheckBuiltFileTest, Latin1IsReadAsDeclared) {
    const CheckReport report = check_text(*this, "ISO_IR 100", "M\xFCller^J\xF6rg", "");
    EXPECT_EQ(report.ids.patient_name, "Müller^Jörg");
    EXPECT_TRUE(report.findings.empty()) << describe(report);
}

TEST_F(DatasetCheckBuiltFileTest, IllegalSequenceBecomesQuestionMarks) {
    // 0xFF starts no GB18030 character; the other value still converts.
    CheckReport report;
    ASSERT_NO_THROW(report = check_text(*this, "GB18030",
                                        "AB\xFF"
                                        "C",
                                        kChestGb18030));
    EXPECT_EQ(report.ids.patient_name, "AB?C");
    EXPECT_EQ(report.ids.study_description, kChest);
    const std::string reason = reason_of(report, "character_set_not_converted");
    EXPECT_NE(reason.find("\"GB18030\""), std::string::npos) << describe(report);
    EXPECT_NE(reason.find("PatientName (0010,0010)"), std::string::npos) << reason;
    EXPECT_FALSE(report.fatal);
}

TEST_F(DatasetCheckBuiltFileTest, UnknownCharacterSetBecomesQuestionMarks) {
    CheckReport report;
    ASSERT_NO_THROW(report = check_text(*this, "ISO_IR 999", kZhangSanGb18030, "CHEST"));
    EXPECT_EQ(report.ids.patient_name, "????");
    EXPECT_EQ(report.ids.study_description, "CHEST");
    EXPECT_NE(reason_of(report, "character_set_not_converted").find("\"ISO_IR 999\""),
              std::string::npos)
        << describe(report);
    EXPECT_FALSE(report.fatal);
}

TEST_F(DatasetCheckBuiltFileTest, UndeclaredBytesThatAreNotGb18030BecomeQuestionMarks) {
    const CheckReport report = check_text(*this, "", "X\xFF\xFEY", "");
    EXPECT_EQ(report.ids.patient_name, "X??Y");
    EXPECT_TRUE(has(report, "undeclared_character_set")) << describe(report);
    EXPECT_NE(reason_of(report, "character_set_not_converted").find("GB18030 (undeclared)"),
              std::string::npos)
        << describe(report);
    EXPECT_FALSE(report.fatal);
}

TEST(TextDecoder, Utf8Validation) {
    using countylink::codecs::dicom::is_valid_utf8;
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("ASCII^only"));
    EXPECT_TRUE(is_valid_utf8("张三=やまだ \xF0\x9F\x98\x80"));
    EXPECT_FALSE(is_valid_utf8(kZhangSanGb18030));
    EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
    EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xE5\xBC"));          // cut short
}

}  // namespace
