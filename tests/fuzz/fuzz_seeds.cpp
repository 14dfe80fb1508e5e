// countylink-fuzz-seeds OUT_DIR: writes each target's seed corpus to OUT_DIR/<target>/.
#include <cstdio>
#include <exception>
#include <fstream>

#include "tests/fuzz/targets.hpp"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    try {
        const std::filesystem::path out = argv[1];
        for (const auto& target : countylink::fuzz::kTargets) {
            const auto dir = out / target.name;
            std::filesystem::create_directories(dir);
            const auto seeds =
                countylink::fuzz::seeds(target.name, COUNTYLINK_SHARED_DIR, COUNTYLINK_SOURCE_DIR);
            for (const auto& [name, bytes] : seeds) {
                std::ofstream(dir / name, std::ios::binary)
                    .write(reinterpret_cast<const char*>(bytes.data()),
                           static_cast<std::streamsize>(bytes.size()));
            }
            std::printf("%s: %zu seeds\n", target.name, seeds.size());
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "countylink-fuzz-seeds: %s\n", e.what());
        return 1;
    }
    return 0;
}
