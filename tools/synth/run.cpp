#include "run.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "identity.hpp"
#include "objects.hpp"

namespace countylink::synth {

namespace {

// Throttled "synth: 120/500 objects, 61 MB" lines.
class ProgressLine {
  public:
    ProgressLine(std::ostream& out, std::uint32_t total) : out_(out), total_(total) {}

    // Reports `done` finished objects and `bytes` written so far, if a line is due.
    void update(std::uint32_t done, std::uint64_t bytes) {
        const auto now = Clock::now();
        const std::uint32_t tenth = total_ == 0 ? 0 : done * 10U / total_;
        const bool second_passed = now - last_ >= std::chrono::seconds{1};
        const bool step = tenth > last_tenth_ && now - start_ >= std::chrono::seconds{1};
        if (!second_passed && !step) return;
        out_ << "synth: " << done << '/' << total_ << " objects, " << bytes / 1000000U << " MB\n"
             << std::flush;
        last_ = now;
        last_tenth_ = tenth;
    }

  private:
    using Clock = std::chrono::steady_clock;
    std::ostream& out_;
    std::uint32_t total_;
    Clock::time_point start_ = Clock::now();
    Clock::time_point last_ = start_;
    std::uint32_t last_tenth_ = 0;
};

// Creates `dir` if needed and checks that files can be created in it.
void prepare_out_dir(const std::filesystem::path& dir) {
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) {
        throw std::runtime_error("--out: cannot create " + dir.string() + ": " + error.message() +
                                 "; choose a writable directory");
    }
    if (!std::filesystem::is_directory(dir, error)) {
        throw std::runtime_error("--out: " + dir.string() +
                                 " exists and is not a directory; choose a directory path");
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        throw std::runtime_error("--out: cannot write in " + dir.string() + ": " +
                                 std::strerror(errno) + "; choose a writable directory");
    }
}

}  // namespace

std::string object_file_name(Kind kind, std::uint32_t index) {
    std::array<char, 32> digits{};
    std::snprintf(digits.data(), digits.size(), "%06u", index + 1U);
    return std::string{kind_name(kind)} + "-" + digits.data() + ".dcm";
}

RunResult run(const Options& options, std::ostream& progress) {
    prepare_out_dir(options.out_dir);
    RunResult result;
    result.out_dir = options.out_dir;
    ProgressLine line{progress, options.count};
    std::optional<StudyIdentity> study;
    for (std::uint32_t index = 0; index < options.count; ++index) {
        const ObjectSlot slot = slot_for(index, options.count, options.studies);
        if (slot.instance == 1 || !study) study = make_study_identity(options, slot.study);
        const std::filesystem::path final_path =
            options.out_dir / object_file_name(options.kind, index);
        std::filesystem::path partial = final_path;
        partial += ".partial";
        const std::uint64_t before = result.bytes;
        try {
            result.bytes +=
                write_object(partial, ObjectContext{options, *study, slot},
                             [&](std::uint64_t written) { line.update(index, before + written); });
            std::filesystem::rename(partial, final_path);
        } catch (...) {
            std::error_code ignored;
            std::filesystem::remove(partial, ignored);
            throw;
        }
        ++result.objects;
        line.update(result.objects, result.bytes);
    }
    return result;
}

}  // namespace countylink::synth
