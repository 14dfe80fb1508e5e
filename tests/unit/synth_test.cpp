// Unit tests for countylink-synth (tools/synth): UIDs, study layout, ECG, and written files.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dcmtk/config/osconfig.h"  // must precede other DCMTK headers
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "ecg.hpp"
#include "identity.hpp"
#include "objects.hpp"
#include "options.hpp"
#include "run.hpp"

namespace fs = std::filesystem;
using namespace countylink::synth;

namespace {

// A fresh, empty directory under the system temp dir, removed at scope exit.
class ScratchDir {
  public:
    explicit ScratchDir(const std::string& name)
        : path_(fs::temp_directory_path() /
                ("synth_test_" + name + "_" + std::to_string(::getpid()))) {
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~ScratchDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

// Whole file as bytes.
std::string read_all(const fs::path& path) {
    std::ifstream in{path, std::ios::binary};
    return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

// Runs the generator quietly and returns the result.
RunResult run_quietly(const Options& options) {
    std::ostringstream progress;
    return run(options, progress);
}

// Loads a file with DCMTK; fails the test if it cannot be read to the end.
void load(DcmFileFormat& file, const fs::path& path) {
    const OFCondition status = file.loadFile(path.c_str());
    ASSERT_TRUE(status.good()) << path << ": " << status.text();
}

// String value of `tag` in `file`'s dataset ("" if absent).
std::string value_of(DcmFileFormat& file, const DcmTagKey& tag) {
    OFString value;
    file.getDataset()->findAndGetOFStringArray(tag, value);
    return value.c_str();
}

}  // namespace

TEST(SynthUid, IsDeterministicValidAndDistinct) {
    const std::string a = make_uid(42, Kind::ct, UidRole::instance, 0, 1);
    EXPECT_EQ(a, make_uid(42, Kind::ct, UidRole::instance, 0, 1));
    EXPECT_NE(a, make_uid(43, Kind::ct, UidRole::instance, 0, 1));
    EXPECT_NE(a, make_uid(42, Kind::dx, UidRole::instance, 0, 1));
    EXPECT_NE(a, make_uid(42, Kind::ct, UidRole::series, 0, 1));
    EXPECT_EQ(a.rfind(std::string{kUidRoot} + ".3.", 0), 0U);

    std::set<std::string> seen;
    for (std::uint32_t i = 0; i < 2000; ++i) {
        const std::string uid = make_uid(7, Kind::ct, UidRole::instance, i % 3, i);
        EXPECT_LE(uid.size(), 64U);
        EXPECT_EQ(uid.find_first_not_of("0123456789."), std::string::npos);
        EXPECT_EQ(uid.find(".0", uid.size() - 21), std::string::npos) << uid;  // no leading 0
        seen.insert(uid);
    }
    EXPECT_EQ(seen.size(), 2000U);
}

TEST(SynthLayout, SplitsObjectsIntoNearEqualStudies) {
    // 10 objects in 3 studies: sizes 4, 3, 3.
    std::vector<std::uint32_t> per_study(3, 0);
    for (std::uint32_t i = 0; i < 10; ++i) {
        const ObjectSlot slot = slot_for(i, 10, 3);
        ASSERT_LT(slot.study, 3U);
        EXPECT_EQ(slot.instance, ++per_study[slot.study]);
        EXPECT_EQ(slot.series_size, slot.study == 0 ? 4U : 3U);
    }
    EXPECT_EQ(per_study, (std::vector<std::uint32_t>{4, 3, 3}));
    EXPECT_EQ(slot_for(4, 5, 5).study, 4U);
    EXPECT_EQ(slot_for(4, 5, 1).instance, 5U);
}

TEST(SynthEcg, DerivedLeadsFollowEinthovenAndGoldberger) {
    Rng rng{3};
    const EcgTrace trace = synthesize_ecg(500, 10.0, 72.0, rng);
    ASSERT_EQ(trace.samples, 5000U);
    ASSERT_EQ(trace.interleaved.size(), 5000U * 12U);
    for (std::uint32_t s = 0; s < trace.samples; ++s) {
        const int i = trace.at(s, 0);
        const int ii = trace.at(s, 1);
        EXPECT_EQ(trace.at(s, 2), ii - i);                   // III
        EXPECT_NEAR(trace.at(s, 3), -(i + ii) / 2.0, 0.51);  // aVR
        EXPECT_NEAR(trace.at(s, 4), i - ii / 2.0, 0.51);     // aVL
        EXPECT_NEAR(trace.at(s, 5), ii - i / 2.0, 0.51);     // aVF
    }
}

TEST(SynthEcg, HasAboutSeventyTwoBeatsPerMinuteWithMillivoltRWaves) {
    Rng rng{5};
    const EcgTrace trace = synthesize_ecg(1000, 10.0, 72.0, rng);
    ASSERT_EQ(trace.samples, 10000U);
    // R peaks in lead II: local maxima above 0.6 mV, at least 300 ms apart.
    const double threshold = 600.0 / kEcgMicrovoltsPerCount;
    int beats = 0;
    int peak = 0;
    std::uint32_t last = 0;
    for (std::uint32_t s = 1; s + 1 < trace.samples; ++s) {
        const int v = trace.at(s, 1);
        peak = std::max(peak, v);
        if (v > threshold && v >= trace.at(s - 1, 1) && v > trace.at(s + 1, 1) &&
            (beats == 0 || s - last > 300)) {
            ++beats;
            last = s;
        }
    }
    EXPECT_GE(beats, 11);  // 72 bpm for 10 s is 12 beats, give or take one
    EXPECT_LE(beats, 13);
    EXPECT_GT(peak * kEcgMicrovoltsPerCount, 900.0);  // R wave ~1.2 mV
    EXPECT_LT(peak * kEcgMicrovoltsPerCount, 2000.0);
}

TEST(SynthRun, EveryKindLoadsWithDcmtkAndHasItsSopClass) {
    const std::vector<std::pair<Kind, std::string>> kinds{
        {Kind::ct, UID_CTImageStorage},
        {Kind::dx, UID_DigitalXRayImageStorageForPresentation},
        {Kind::cr, UID_ComputedRadiographyImageStorage},
        {Kind::us, UID_UltrasoundImageStorage},
        {Kind::ecg, UID_TwelveLeadECGWaveformStorage},
        {Kind::mf, UID_MultiframeGrayscaleWordSecondaryCaptureImageStorage},
    };
    for (const auto& [kind, sop_class] : kinds) {
        for (const Syntax syntax : {Syntax::explicit_le, Syntax::implicit_le}) {
            ScratchDir dir{std::string{kind_name(kind)}};
            Options options;
            options.out_dir = dir.path();
            options.kind = kind;
            options.count = 2;
            options.studies = 1;
            options.seed = 11;
            options.frames = 3;
            options.syntax = syntax;
            const RunResult result = run_quietly(options);
            EXPECT_EQ(result.objects, 2U);
            for (std::uint32_t i = 0; i < 2; ++i) {
                const fs::path path = dir.path() / object_file_name(kind, i);
                DcmFileFormat file;
                load(file, path);
                EXPECT_EQ(value_of(file, DCM_SOPClassUID), sop_class) << path;
                EXPECT_EQ(value_of(file, DCM_InstitutionName), "Township Health Centre");
                EXPECT_EQ(value_of(file, DCM_InstanceNumber), std::to_string(i + 1));
                EXPECT_EQ(value_of(file, DCM_SOPInstanceUID),
                          make_uid(11, kind, UidRole::instance, 0, i + 1));
            }
            EXPECT_FALSE(fs::exists(dir.path() / (object_file_name(kind, 0) + ".partial")));
        }
    }
}

TEST(SynthRun, SameSeedGivesIdenticalFiles) {
    ScratchDir first{"seed_a"};
    ScratchDir second{"seed_b"};
    Options options;
    options.kind = Kind::dx;
    options.count = 2;
    options.studies = 2;
    options.seed = 99;
    options.out_dir = first.path();
    run_quietly(options);
    options.out_dir = second.path();
    run_quietly(options);
    for (std::uint32_t i = 0; i < 2; ++i) {
        const std::string name = object_file_name(Kind::dx, i);
        EXPECT_EQ(read_all(first.path() / name), read_all(second.path() / name)) << name;
    }
}

TEST(SynthRun, StreamedMultiframeHasFullPixelDataAsLastElement) {
    ScratchDir dir{"mf"};
    Options options;
    options.out_dir = dir.path();
    options.kind = Kind::mf;
    options.seed = 1;
    options.frames = 5;
    options.rows = 100;
    options.cols = 130;
    run_quietly(options);
    const fs::path path = dir.path() / object_file_name(Kind::mf, 0);

    DcmFileFormat file;
    load(file, path);
    EXPECT_EQ(value_of(file, DCM_NumberOfFrames), "5");
    const Uint16* pixels = nullptr;
    unsigned long count = 0;
    ASSERT_TRUE(file.getDataset()->findAndGetUint16Array(DCM_PixelData, pixels, &count).good());
    EXPECT_EQ(count, 5UL * 100UL * 130UL);
    std::set<Uint16> distinct(pixels, pixels + count);
    EXPECT_GT(distinct.size(), 100U);  // a phantom with noise, not a constant

    // The element header sits exactly pixel-bytes before the end of the file.
    const std::string bytes = read_all(path);
    const std::size_t pixel_bytes = 5U * 100U * 130U * 2U;
    ASSERT_GT(bytes.size(), pixel_bytes + 12U);
    const std::string header = bytes.substr(bytes.size() - pixel_bytes - 12U, 12U);
    EXPECT_EQ(header.substr(0, 8), std::string("\xE0\x7F\x10\x00OW\0\0", 8));
}

TEST(SynthRun, RefusesAnOutPathThatIsAFile) {
    ScratchDir dir{"notdir"};
    const fs::path file = dir.path() / "plain";
    std::ofstream{file} << "x";
    Options options;
    options.out_dir = file;
    options.kind = Kind::ecg;
    try {
        run_quietly(options);
        FAIL() << "expected an error";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string{error.what()}.find("--out"), std::string::npos) << error.what();
    }
}
