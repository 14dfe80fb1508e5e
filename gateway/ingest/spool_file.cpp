#include "gateway/ingest/spool_file.hpp"

#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>

namespace countylink::ingest {

SpoolFile::SpoolFile(const std::filesystem::path& directory) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    path_ = directory / ("rx-" + std::to_string(rng()) + ".part");
    fd_ = io::open_file(path_, O_WRONLY | O_CREAT | O_EXCL, 0640);
}

SpoolFile::~SpoolFile() {
    if (!path_.empty()) {
        std::error_code ec;
        std::filesystem::remove(path_, ec);  // gone already if it was stored or quarantined
    }
}

void SpoolFile::append(std::span<const std::byte> data) {
    io::write_all(fd_.get(), data);
    size_ += data.size();
}

void SpoolFile::close() {
    fd_ = io::UniqueFd();
}

}  // namespace countylink::ingest
