#include "gateway/store/blob_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <vector>

#include "codecs/io/sha256.hpp"

namespace countylink::store {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kChunk = 1 << 20;
constexpr const char* kTmpDir = "tmp";

std::string unique_suffix() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return std::to_string(rng());
}

}  // namespace

namespace {

// The filter a blob declares in its first bytes, read without moving the file offset.
std::optional<compress::SampleRange> filter_of(int fd) {
    std::array<std::byte, 32> head{};
    const ssize_t n = ::pread(fd, head.data(), head.size(), 0);
    if (n != static_cast<ssize_t>(head.size())) return std::nullopt;
    return compress::decode_filter_header(head);
}

}  // namespace

BlobReader::BlobReader(io::UniqueFd fd) : fd_(std::move(fd)), zstd_(fd_.get()) {
    if (auto range = filter_of(fd_.get())) {
        filter_.emplace(*range, compress::SampleFilter::Direction::decode);
        inflated_.resize(kChunk);
    }
}

std::size_t BlobReader::read(std::span<std::byte> out) {
    if (!filter_) return zstd_.read(out);
    // zstd skips the header frame by itself; the filter is undone on what it inflates.
    const auto keep = [this](std::span<const std::byte> b) {
        pending_.insert(pending_.end(), b.begin(), b.end());
    };
    while (pending_pos_ == pending_.size() && !done_) {
        pending_.clear();
        pending_pos_ = 0;
        const std::size_t n = zstd_.read(inflated_);
        if (n == 0) {
            filter_->finish(keep);
            done_ = true;
        } else {
            filter_->feed(std::span(inflated_).first(n), keep);
        }
    }
    const std::size_t n = std::min(out.size(), pending_.size() - pending_pos_);
    std::memcpy(out.data(), pending_.data() + pending_pos_, n);
    pending_pos_ += n;
    return n;
}

std::vector<std::byte> read_all(BlobReader reader, std::size_t max_bytes) {
    std::vector<std::byte> bytes;
    std::vector<std::byte> chunk(1 << 20);
    for (std::size_t n; (n = reader.read(chunk)) > 0;) {
        if (bytes.size() + n > max_bytes) {
            throw std::length_error("blob larger than " + std::to_string(max_bytes) + " bytes");
        }
        bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    }
    return bytes;
}

// Every prefix directory is made (and its entry made durable) once, here: a directory created
// on the first put into it would need the root synced too, or a power cut could take the new
// directory, and the acknowledged blob in it, away.
BlobStore::BlobStore(fs::path root, int zstd_level) : root_(std::move(root)), level_(zstd_level) {
    bool created = fs::create_directories(root_ / kTmpDir);
    char prefix[3];
    for (int i = 0; i < 256; ++i) {
        std::snprintf(prefix, sizeof prefix, "%02x", i);
        created |= fs::create_directory(root_ / prefix);
    }
    if (created) io::sync_directory(root_);
}

fs::path BlobStore::path_of(const std::string& sha256) const {
    return root_ / sha256.substr(0, 2) / (sha256 + ".zst");
}

std::unique_ptr<compress::ZstdContext> BlobStore::take_context() {
    {
        std::lock_guard lock(contexts_mutex_);
        if (!contexts_.empty()) {
            auto context = std::move(contexts_.back());
            contexts_.pop_back();
            return context;
        }
    }
    return std::make_unique<compress::ZstdContext>(level_);
}

void BlobStore::give_back(std::unique_ptr<compress::ZstdContext> context) {
    std::lock_guard lock(contexts_mutex_);
    contexts_.push_back(std::move(context));
}

BlobRef BlobStore::put(const fs::path& source,
                       const std::optional<compress::SampleRange>& samples) {
    PendingBlob blob = write(source, samples);
    publish(blob);
    return blob.ref();
}

PendingBlob BlobStore::write(const fs::path& source,
                             const std::optional<compress::SampleRange>& samples) {
    io::UniqueFd in = io::open_file(source, O_RDONLY);
    struct stat source_stat {};
    if (::fstat(in.get(), &source_stat) != 0) {
        throw std::system_error(errno, std::generic_category(), "stat " + source.string());
    }
    struct Lease {
        BlobStore& store;
        std::unique_ptr<compress::ZstdContext> context;
        ~Lease() { store.give_back(std::move(context)); }
    } lease{*this, take_context()};
    PendingBlob blob;
    blob.tmp_ = root_ / kTmpDir / ("put-" + unique_suffix());
    blob.fd_ = io::open_file(blob.tmp_, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    BlobRef& ref = blob.ref_;  // the temporary is removed with `blob` if anything below throws

    io::Sha256 sha;
    const int out = blob.fd_.get();
    uint64_t header_size = 0;
    std::optional<compress::SampleFilter> filter;
    if (samples) {
        const auto header = compress::encode_filter_header(*samples);
        io::write_all(out, header);
        header_size = header.size();
        filter.emplace(*samples, compress::SampleFilter::Direction::encode);
    }
    // The filter keeps the length, so the frame's size is the file's.
    compress::ZstdWriter zstd(out, *lease.context, static_cast<uint64_t>(source_stat.st_size));
    const auto compress = [&zstd](std::span<const std::byte> b) { zstd.write(b); };
    // Not zero-filled: a megabyte memset per object showed in profiles.
    const auto buffer = std::make_unique_for_overwrite<std::byte[]>(kChunk);
    for (;;) {
        const std::size_t n = io::read_some(in.get(), {buffer.get(), kChunk});
        if (n == 0) break;
        sha.feed({buffer.get(), n});
        if (filter) {
            filter->feed({buffer.get(), n}, compress);
        } else {
            zstd.write({buffer.get(), n});
        }
        ref.raw_size += n;
    }
    if (filter) filter->finish(compress);
    ref.stored_size = header_size + zstd.finish();
    ref.sha256 = sha.hex_digest();

    const fs::path final_path = path_of(ref.sha256);
    ref.directory = final_path.parent_path();
    if (fs::create_directories(ref.directory)) io::sync_directory(root_);  // removed by hand
    if (fs::exists(final_path)) {
        // Same bytes already stored (and synced before they were named): keep that copy.
        blob.fd_ = io::UniqueFd();
        std::error_code ec;
        fs::remove(blob.tmp_, ec);
        blob.tmp_.clear();
        return blob;
    }
    {
        std::lock_guard lock(flight_mutex_);
        ++in_flight_[ref.sha256];
    }
    blob.store_ = this;
    return blob;
}

void BlobStore::publish(PendingBlob& blob) {
    if (!blob.tmp_.empty()) {
        // Data before name: a blob under its final name is always complete.
        io::sync_fd(blob.fd_.get());
        blob.fd_ = io::UniqueFd();
        fs::rename(blob.tmp_, path_of(blob.ref_.sha256));
        blob.tmp_.clear();
    }
    // Named now, so no longer "in flight": from here contains() must see the file itself. An
    // online purge of a study holding the same bytes may remove that file between this rename
    // and our index commit; the commit's check must then fail (the sender sends again), which
    // it would not if the blob still counted as in flight during the directory sync below.
    if (blob.store_ != nullptr) {
        blob.store_ = nullptr;
        land(blob.ref_.sha256);
    }
    // The name, also when the bytes were already there: whoever renamed them may still be
    // syncing this directory.
    io::sync_directory(blob.ref_.directory);
}

void BlobStore::land(const std::string& sha256) {
    {
        std::lock_guard lock(flight_mutex_);
        const auto it = in_flight_.find(sha256);
        if (it != in_flight_.end() && --it->second == 0) in_flight_.erase(it);
    }
    landed_.notify_all();
}

PendingBlob::PendingBlob(PendingBlob&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)),
      tmp_(std::move(other.tmp_)),
      fd_(std::move(other.fd_)),
      ref_(std::move(other.ref_)) {
    other.tmp_.clear();
}

PendingBlob::~PendingBlob() {
    if (!tmp_.empty()) {
        std::error_code ec;
        fs::remove(tmp_, ec);
    }
    if (store_ != nullptr) store_->land(ref_.sha256);
}

bool BlobStore::contains(const std::string& sha256) {
    {
        // In flight first: a blob leaves it only once renamed, so one that was in flight when
        // the file was looked for is found by name afterwards (the other order has a gap).
        std::lock_guard lock(flight_mutex_);
        if (in_flight_.contains(sha256)) return true;
    }
    std::error_code ec;
    return fs::exists(path_of(sha256), ec);
}

uint64_t BlobStore::remove(const std::string& sha256) {
    const fs::path path = path_of(sha256);
    std::error_code ec;
    const uint64_t size = fs::file_size(path, ec);
    if (ec) return 0;
    return fs::remove(path, ec) && !ec ? size : 0;  // left for start-up recovery otherwise
}

BlobReader BlobStore::open(const std::string& sha256) {
    try {
        return BlobReader(io::open_file(path_of(sha256), O_RDONLY));
    } catch (const std::system_error& e) {
        if (e.code() != std::errc::no_such_file_or_directory) throw;
    }
    // Indexed a moment before its name is durable (GroupCommit publishes alongside): wait.
    {
        std::unique_lock lock(flight_mutex_);
        landed_.wait(lock, [&] { return !in_flight_.contains(sha256); });
    }
    return BlobReader(io::open_file(path_of(sha256), O_RDONLY));
}

BlobStore::Census BlobStore::census(const std::vector<std::string>& referenced) const {
    Census result;
    const std::unordered_set<std::string> known(referenced.begin(), referenced.end());
    std::unordered_set<std::string> missing = known;
    for (const auto& dir : fs::directory_iterator(root_)) {
        if (!dir.is_directory() || dir.path().filename() == kTmpDir) continue;
        for (const auto& blob : fs::directory_iterator(dir.path())) {
            const std::string name = blob.path().stem().string();
            if (blob.path().extension() == ".zst" && known.contains(name)) {
                missing.erase(name);
            } else {
                result.unknown.push_back(blob.path());
            }
        }
    }
    result.known = known.size();
    result.missing.assign(missing.begin(), missing.end());
    std::sort(result.missing.begin(), result.missing.end());
    return result;
}

BlobStore::Recovery BlobStore::recover(const std::vector<std::string>& referenced) {
    Recovery result;
    for (const auto& entry : fs::directory_iterator(root_ / kTmpDir)) {
        fs::remove(entry.path());
        ++result.removed;
    }
    Census found = census(referenced);
    // A crash leaves a few unknown blobs (one per worker, one purge's worth). More unknown
    // blobs than known ones means the index is not this store's (lost, replaced, a disk not
    // mounted): removing them would delete acknowledged studies, so nothing is removed.
    if (found.unknown.size() > kCrashLeftovers && found.unknown.size() > found.known) {
        throw std::runtime_error(
            "start-up recovery: " + root_.string() + " holds " +
            std::to_string(found.unknown.size()) +
            " blobs the index does not know, more than the " + std::to_string(found.known) +
            " it does: was the index lost or replaced? Nothing was removed. Restore the index "
            "from a backup (ops/README.md) or index them with 'countylinkctl reindex' (gateway "
            "stopped); to start with this index as it is, move " +
            root_.string() + " away first");
    }
    for (const auto& path : found.unknown) {
        fs::remove(path);
        ++result.removed;
    }
    result.missing = std::move(found.missing);
    return result;
}

}  // namespace countylink::store
