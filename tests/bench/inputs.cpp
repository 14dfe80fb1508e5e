#include "tests/bench/inputs.hpp"

#include <sstream>
#include <stdexcept>

#include "codecs/dicom/part10.hpp"
#include "config/config.hpp"
#include "run.hpp"
#include "tests/support/byte_file.hpp"

namespace countylink::bench {
namespace fs = std::filesystem;
namespace cd = codecs::dicom;

namespace {

// 374 x 374 16-bit pixels: a DX of about 280 KB, the size the throughput benchmarks send.
constexpr std::uint16_t kDxSide = 374;

BenchObject make_object(const fs::path& dir, synth::Kind kind,
                        const std::set<std::string>& fatal_codes) {
    synth::Options options;
    options.out_dir = dir / std::string(synth::kind_name(kind));
    options.kind = kind;
    options.seed = 1;
    if (kind == synth::Kind::dx) options.rows = options.cols = kDxSide;
    std::ostringstream progress;
    synth::run(options, progress);

    BenchObject object;
    object.kind = std::string(synth::kind_name(kind));
    object.file = options.out_dir / synth::object_file_name(kind, 0);
    object.bytes = testing::read_bytes(object.file);
    const auto start = cd::read_part10_start(object.bytes);
    if (!start) throw std::runtime_error(object.file.string() + " is not a Part-10 file");
    object.dataset_offset = start->dataset_offset;
    object.report = cd::check_part10_file(
        object.file, {start->meta.sop_class_uid, start->meta.sop_instance_uid}, fatal_codes);
    if (object.report.fatal || !object.report.samples) {
        throw std::runtime_error(object.file.string() +
                                 " was refused or has no 16-bit samples: not the hot path");
    }
    object.samples = cd::locate_samples(object.file, *object.report.samples);
    if (!object.samples) throw std::runtime_error(object.file.string() + ": samples not found");
    return object;
}

}  // namespace

Inputs::Inputs(const fs::path& scratch_base) : scratch_(scratch_base) {
    const config::Config defaults;
    fatal_codes_.insert(defaults.validation.fatal.begin(), defaults.validation.fatal.end());
    const fs::path dir = directory("objects");
    for (const auto kind : {synth::Kind::dx, synth::Kind::ct, synth::Kind::ecg}) {
        objects_.push_back(make_object(dir, kind, fatal_codes_));
    }
}

fs::path Inputs::directory(const std::string& name) const {
    const fs::path dir = scratch_.path() / name;
    fs::create_directories(dir);
    return dir;
}

fs::path default_scratch_base() {
    std::error_code ec;
    if (fs::is_directory("/dev/shm", ec)) return "/dev/shm";
    return fs::temp_directory_path();
}

}  // namespace countylink::bench
