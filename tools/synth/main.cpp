// countylink-synth: writes synthetic but realistic DICOM Part-10 studies for testing CountyLink.

#include <boost/program_options.hpp>
#include <charconv>
#include <cstdint>
#include <exception>
#include <iostream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>

#include "objects.hpp"
#include "options.hpp"
#include "run.hpp"

namespace po = boost::program_options;
namespace synth = countylink::synth;

namespace {

// A mistake in the command line; main() prints it with a pointer to --help and exits 2.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

constexpr const char* kExamples = R"(
Kinds:
  ct   CT Image Storage, 512x512 12-bit chest slices (~0.5 MB), one series per study
  dx   Digital X-Ray (For Presentation) chest PA, 240..496 px square-ish (~115-490 KB)
  cr   Computed Radiography chest PA, MONOCHROME1, sizes as dx
  us   Ultrasound Image Storage, 640x480 RGB abdominal B-mode (~0.9 MB)
  ecg  12-Lead ECG Waveform Storage, 10 s, 12 leads, 500 or 1000 Hz (~120/240 KB)
  mf   Multi-frame Grayscale Word Secondary Capture, --frames of --rows x --cols 16-bit,
       streamed to disk (a 1 GiB object needs only a few MB of memory)

Files are written flat as DIR/<kind>-000001.dcm, DIR/<kind>-000002.dcm, ...
The same --seed gives byte-identical files (UIDs under 1.2.826.0.1.3680043.10.1234).
Default --studies: 1 for ct, us, mf; one study per object for dx, cr, ecg.

Examples:
  countylink-synth --out /tmp/ct --kind ct --count 120 --studies 2 --seed 7
  countylink-synth --out /tmp/ecg --kind ecg --count 50 --sample-rate 1000
  countylink-synth --out /tmp/big --kind mf --frames 2048 --rows 512 --cols 512   # 1 GiB
)";

// Parses option `name`'s text as a whole number in [lo, hi]; throws UsageError otherwise.
std::uint64_t parse_number(const std::string& name, const std::string& text, std::uint64_t lo,
                           std::uint64_t hi) {
    std::uint64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc{} || ptr != end || value < lo || value > hi) {
        throw UsageError("--" + name + ": '" + text + "' is not a whole number from " +
                         std::to_string(lo) + " to " + std::to_string(hi));
    }
    return value;
}

// Returns option `name` as a number in [lo, hi] if it was given.
std::optional<std::uint64_t> number_option(const po::variables_map& vm, const std::string& name,
                                           std::uint64_t lo, std::uint64_t hi) {
    if (vm.count(name) == 0) return std::nullopt;
    return parse_number(name, vm[name].as<std::string>(), lo, hi);
}

// Turns parsed command-line values into checked Options; throws UsageError on any mistake.
synth::Options to_options(const po::variables_map& vm) {
    synth::Options options;
    if (vm.count("out") == 0) throw UsageError("--out DIR is required");
    if (vm.count("kind") == 0) throw UsageError("--kind is required (ct, dx, cr, us, ecg, mf)");
    options.out_dir = vm["out"].as<std::string>();
    const std::string kind = vm["kind"].as<std::string>();
    const auto parsed = synth::parse_kind(kind);
    if (!parsed) throw UsageError("--kind: '" + kind + "' is not one of ct, dx, cr, us, ecg, mf");
    options.kind = *parsed;
    const bool is_mf = options.kind == synth::Kind::mf;
    const bool is_ecg = options.kind == synth::Kind::ecg;

    options.count = static_cast<std::uint32_t>(number_option(vm, "count", 1, 1000000).value_or(1));
    options.studies = static_cast<std::uint32_t>(
        number_option(vm, "studies", 1, options.count)
            .value_or(synth::default_studies(options.kind, options.count)));

    if (const auto seed = number_option(vm, "seed", 0, UINT64_MAX)) {
        options.seed = *seed;
    } else {
        std::random_device entropy;
        options.seed = (std::uint64_t{entropy()} << 32U) ^ entropy();
    }

    if (vm.count("frames") != 0 && !is_mf) throw UsageError("--frames applies only to --kind mf");
    options.frames = static_cast<std::uint32_t>(
        number_option(vm, "frames", 1, 1000000).value_or(options.frames));

    if (vm.count("rows") != vm.count("cols")) {
        throw UsageError("--rows and --cols go together; give both or neither");
    }
    if (vm.count("rows") != 0 && is_ecg) throw UsageError("--rows/--cols do not apply to ecg");
    const std::uint64_t max_side = is_mf ? 16384 : 4096;
    if (const auto rows = number_option(vm, "rows", 16, max_side)) {
        options.rows = static_cast<std::uint16_t>(*rows);
        options.cols = static_cast<std::uint16_t>(*number_option(vm, "cols", 16, max_side));
    }

    if (is_mf) {
        const std::uint64_t pixel_bytes = std::uint64_t{options.rows.value_or(512)} *
                                          options.cols.value_or(512) * 2U * options.frames;
        if (pixel_bytes > synth::kMaxPixelDataBytes) {
            throw UsageError("--frames/--rows/--cols: Pixel Data of " +
                             std::to_string(pixel_bytes) +
                             " bytes exceeds the 4 GiB limit of one DICOM element; use fewer "
                             "or smaller frames");
        }
    }

    if (vm.count("sample-rate") != 0) {
        if (!is_ecg) throw UsageError("--sample-rate applies only to --kind ecg");
        const std::string rate = vm["sample-rate"].as<std::string>();
        if (rate != "500" && rate != "1000") {
            throw UsageError("--sample-rate: '" + rate + "' must be 500 or 1000");
        }
        options.sample_rate = rate == "500" ? 500 : 1000;
    }

    if (vm.count("patient-prefix") != 0) {
        options.patient_prefix = vm["patient-prefix"].as<std::string>();
        const bool valid =
            !options.patient_prefix.empty() && options.patient_prefix.size() <= 32 &&
            options.patient_prefix.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
                std::string::npos;
        if (!valid) {
            throw UsageError("--patient-prefix: '" + options.patient_prefix +
                             "' must be 1-32 letters, digits, '.', '_' or '-'");
        }
    }

    if (vm.count("ts") != 0) {
        const std::string ts = vm["ts"].as<std::string>();
        if (ts == "implicit") {
            options.syntax = synth::Syntax::implicit_le;
        } else if (ts != "explicit") {
            throw UsageError("--ts: '" + ts + "' must be implicit or explicit");
        }
    }
    return options;
}

}  // namespace

// Parses the command line, runs, prints the summary; exit 0 ok, 1 failure, 2 usage error.
int main(int argc, char** argv) {
    po::options_description described{"Usage: countylink-synth --out DIR --kind KIND [options]"};
    // clang-format off
    described.add_options()
        ("help,h", "show this help")
        ("out", po::value<std::string>()->value_name("DIR"), "output directory (created)")
        ("kind", po::value<std::string>()->value_name("KIND"), "ct|dx|cr|us|ecg|mf")
        ("count", po::value<std::string>()->value_name("N"), "objects to write (default 1)")
        ("studies", po::value<std::string>()->value_name("S"), "studies to spread them over")
        ("seed", po::value<std::string>()->value_name("X"),
         "64-bit seed for reproducible output (default: random, printed)")
        ("frames", po::value<std::string>()->value_name("F"), "mf: frames (default 64)")
        ("rows", po::value<std::string>()->value_name("R"), "image rows (with --cols)")
        ("cols", po::value<std::string>()->value_name("C"), "image columns (with --rows)")
        ("patient-prefix", po::value<std::string>()->value_name("P"),
         "patient ID prefix (default TWP)")
        ("ts", po::value<std::string>()->value_name("SYNTAX"),
         "implicit|explicit VR little endian (default explicit)")
        ("sample-rate", po::value<std::string>()->value_name("HZ"), "ecg: 500|1000 (default 500)");
    // clang-format on

    synth::Options options;
    try {
        po::variables_map vm;
        po::store(po::parse_command_line(argc, argv, described), vm);
        po::notify(vm);
        if (vm.count("help") != 0) {
            std::cout << described << kExamples;
            return 0;
        }
        options = to_options(vm);
    } catch (const po::error& error) {
        std::cerr << "countylink-synth: " << error.what() << "; see --help\n";
        return 2;
    } catch (const UsageError& error) {
        std::cerr << "countylink-synth: " << error.what() << "; see --help\n";
        return 2;
    }

    try {
        const synth::RunResult result = synth::run(options, std::cerr);
        std::cout << "synth: wrote " << result.objects << ' ' << synth::kind_name(options.kind)
                  << " objects, " << result.bytes << " bytes ("
                  << (result.bytes + 500000U) / 1000000U << " MB) to " << result.out_dir.string()
                  << " (seed " << options.seed << ")\n";
        return 0;
    } catch (const std::exception& error) {
        std::cerr << "countylink-synth: " << error.what() << '\n';
        return 1;
    }
}
