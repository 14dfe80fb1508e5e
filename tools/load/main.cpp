// countylink-load: an async C-STORE load generator on our own SCU (gateway/dicom/store_scu).
// N concurrent associations share a list of objects (a folder of Part-10 files, or a mix made
// with the countylink-synth library: --synth dx:200,ct:100,ecg:50), each association sending
// up to --per-association objects before releasing and opening the next. As fast as possible
// (closed loop), or open loop at --rate objects/s (each object due at its time; latency counted
// from then, so a server that falls behind shows it); for --count objects or --duration seconds.
// Prints a progress line every second, then objects/s, MB/s, round-trip latency percentiles
// and errors by status (--json for machines). --idle M holds M more associations open without
// traffic, --echo-ms T sends a C-ECHO every T ms on one more, and both are reported (what idle
// associations cost; how responsive the server stays).
#include <unistd.h>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <vector>

#include "codecs/dicom/part10.hpp"
#include "gateway/dicom/store_scu.hpp"
#include "run.hpp"
#include "verification.hpp"

namespace asio = boost::asio;
namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace countylink;
using Clock = std::chrono::steady_clock;

namespace {

// One object to send, its dataset held in memory (the generator must not be the bottleneck).
struct LoadObject {
    codecs::dicom::MetaInfo meta;
    std::vector<std::byte> dataset;
};

std::vector<LoadObject> load_folder(const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (e.is_regular_file()) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    std::vector<LoadObject> out;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::vector<char> raw((std::istreambuf_iterator<char>(in)), {});
        const auto bytes = std::as_bytes(std::span(raw.data(), raw.size()));
        const auto start = codecs::dicom::read_part10_start(bytes);
        if (!start) {
            std::cerr << "load: skipping " << f << " (not a Part-10 file)\n";
            continue;
        }
        out.push_back(
            {start->meta,
             {bytes.begin() + static_cast<std::ptrdiff_t>(start->dataset_offset), bytes.end()}});
    }
    return out;
}

// --synth "dx:200,ct:100": generated with the countylink-synth library into a private temporary
// folder (removed again), read, and interleaved so every association sees the mix.
std::vector<LoadObject> synthesize(const std::string& spec, uint64_t seed) {
    const fs::path dir =
        fs::temp_directory_path() /
        ("countylink-load-" + std::to_string(::getpid()) + "-" + std::to_string(seed));
    struct Remove {
        fs::path p;
        ~Remove() {
            std::error_code ec;
            fs::remove_all(p, ec);
        }
    } remove{dir};
    std::vector<std::vector<LoadObject>> kinds;
    std::stringstream items(spec);
    for (std::string item; std::getline(items, item, ',');) {
        const auto colon = item.find(':');
        const auto kind = synth::parse_kind(item.substr(0, colon));
        const long count = colon == std::string::npos ? 0 : std::atol(item.c_str() + colon + 1);
        if (!kind || count <= 0) {
            throw std::invalid_argument("--synth: '" + item +
                                        "' is not KIND:COUNT (kinds: ct dx cr us ecg mf)");
        }
        synth::Options options;
        options.kind = *kind;
        options.count = static_cast<uint32_t>(count);
        options.studies = synth::default_studies(*kind, options.count);
        options.seed = seed + kinds.size();
        options.out_dir = dir / item.substr(0, colon);
        synth::run(options, std::cerr);
        kinds.push_back(load_folder(options.out_dir));
    }
    std::vector<LoadObject> mixed;
    for (std::size_t i = 0;; ++i) {
        bool any = false;
        for (auto& k : kinds) {
            if (i < k.size()) {
                mixed.push_back(std::move(k[i]));
                any = true;
            }
        }
        if (!any) return mixed;
    }
}

struct Stats {
    std::vector<double> latencies_ms;
    std::map<std::string, uint64_t> errors;  // by status or error text
    uint64_t objects = 0, bytes = 0;
};

struct Run {
    const std::vector<LoadObject>& objects;
    std::size_t total;  // objects to send; with a duration and no rate: until the deadline
    std::size_t per_association;
    dicom::ScuPeer peer;
    asio::thread_pool& workers;
    std::size_t senders = 1;
    double rate = 0;                        // objects/s in all; 0: as fast as possible
    Clock::time_point start{}, deadline{};  // deadline unset: no duration
    std::size_t next = 0;                   // next object index (single network thread: no lock)
    Stats stats;
    std::size_t running = 0;                    // senders still at work
    Clock::time_point finished{};               // when the last sender returned
    std::function<void()> on_finished = [] {};  // stops the progress line
};

asio::awaitable<void> send_share(Run& run, std::size_t slot);

// Whether a closed-loop sender should start another batch.
bool more(const Run& run) {
    if (run.next >= run.total) return false;
    return run.deadline == Clock::time_point{} || Clock::now() < run.deadline;
}

// One association slot: sends batches until the objects run out, then reports in.
asio::awaitable<void> sender(Run& run, std::size_t slot) {
    co_await send_share(run, slot);
    if (--run.running == 0) {
        run.finished = Clock::now();
        run.on_finished();
    }
}

// The global indices of the next batch for `slot`: closed loop, the next objects anyone has
// not taken; open loop, the slot's own every senders-th object (each due at index / rate).
std::vector<std::size_t> next_batch(Run& run, std::size_t slot, std::size_t& own) {
    std::vector<std::size_t> out;
    if (run.rate > 0) {
        for (; out.size() < run.per_association; ++own) {
            const std::size_t g = own * run.senders + slot;
            if (g >= run.total) break;
            out.push_back(g);
        }
        return out;
    }
    if (!more(run)) return out;
    const std::size_t n = std::min(run.per_association, run.total - run.next);
    for (std::size_t i = 0; i < n; ++i) out.push_back(run.next + i);
    run.next += n;
    return out;
}

asio::awaitable<void> send_share(Run& run, std::size_t slot) {
    std::size_t own = 0;  // open loop: how many of this slot's objects are taken
    for (;;) {
        const std::vector<std::size_t> indices = next_batch(run, slot, own);
        if (indices.empty()) co_return;
        const std::size_t n = indices.size();
        std::vector<dicom::OutgoingObject> batch;
        std::vector<std::size_t> sizes;
        for (const std::size_t i : indices) {
            const LoadObject& o = run.objects[i % run.objects.size()];
            auto pos = std::make_shared<std::size_t>(0);
            batch.push_back({o.meta.sop_class_uid, o.meta.sop_instance_uid,
                             o.meta.transfer_syntax_uid, [&o, pos](std::span<std::byte> out) {
                                 const std::size_t k =
                                     std::min(out.size(), o.dataset.size() - *pos);
                                 std::copy_n(o.dataset.begin() + static_cast<std::ptrdiff_t>(*pos),
                                             k, out.begin());
                                 *pos += k;
                                 return k;
                             }});
            if (run.rate > 0) {
                batch.back().not_before =
                    run.start +
                    std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(static_cast<double>(i) / run.rate));
            }
            sizes.push_back(o.dataset.size());
        }
        try {
            const auto results = co_await dicom::send_objects(co_await asio::this_coro::executor,
                                                              run.workers, run.peer, batch);
            for (std::size_t i = 0; i < results.size(); ++i) {
                const auto& r = results[i];
                const bool ok = r.sent && (r.status == 0 || (r.status & 0xF000) == 0xB000);
                if (ok) {
                    ++run.stats.objects;
                    run.stats.bytes += sizes[i];
                    run.stats.latencies_ms.push_back(
                        std::chrono::duration<double, std::milli>(r.round_trip).count());
                } else {
                    ++run.stats.errors[r.sent ? "status " + std::to_string(r.status) : r.error];
                }
            }
        } catch (const std::exception& e) {
            run.stats.errors[std::string("association: ") + e.what()] += n;
        }
    }
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto at = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(at, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    try {
        po::options_description desc("countylink-load options");
        desc.add_options()("help,h", "show this help")("dir", po::value<std::string>(),
                                                       "folder of Part-10 files to send")(
            "synth", po::value<std::string>(),
            "instead of --dir: objects made with countylink-synth, KIND:COUNT,... "
            "(e.g. dx:200,ct:100,ecg:50), sent interleaved")(
            "seed", po::value<uint64_t>()->default_value(1), "seed for --synth")(
            "rate", po::value<double>()->default_value(0),
            "open loop: objects/s in all, each object due at its time (0: as fast as possible)")(
            "duration", po::value<double>()->default_value(0),
            "seconds to run, cycling through the objects (0: --count objects)")(
            "host", po::value<std::string>()->default_value("127.0.0.1"), "gateway host")(
            "port", po::value<uint16_t>()->default_value(11112), "gateway DICOM port")(
            "called-ae", po::value<std::string>()->default_value("COUNTYLINK"), "its AE title")(
            "calling-ae", po::value<std::string>()->default_value("LOADGEN"), "our AE title")(
            "associations,n", po::value<std::size_t>()->default_value(8),
            "concurrent associations")("count", po::value<std::size_t>()->default_value(0),
                                       "objects to send in all (default: each file once)")(
            "per-association", po::value<std::size_t>()->default_value(100),
            "objects per association before releasing")(
            "idle", po::value<std::size_t>()->default_value(0),
            "associations to hold open without traffic while the load runs")(
            "echo-ms", po::value<unsigned>()->default_value(0),
            "send a C-ECHO every this many ms on one more association (0: off)")(
            "json", "print the summary as JSON");
        po::variables_map vm;
        po::store(po::parse_command_line(argc, argv, desc), vm);
        if (vm.count("help")) {
            std::cout << desc;
            return 0;
        }
        po::notify(vm);
        if (vm.count("dir") == vm.count("synth")) {
            std::cerr << "countylink-load: give --dir DIR or --synth KIND:COUNT,... (see --help)\n";
            return 2;
        }
        const auto objects =
            vm.count("dir") ? load_folder(vm["dir"].as<std::string>())
                            : synthesize(vm["synth"].as<std::string>(), vm["seed"].as<uint64_t>());
        if (objects.empty()) {
            std::cerr << "load: no DICOM files to send; make some with countylink-synth --out DIR "
                         "--kind ct --count 100, or use --synth ct:100\n";
            return 2;
        }
        const double rate = vm["rate"].as<double>();
        const double duration = vm["duration"].as<double>();
        if (rate < 0 || duration < 0) {
            std::cerr << "countylink-load: --rate and --duration must not be negative\n";
            return 2;
        }
        asio::thread_pool workers(1);
        std::size_t total =
            vm["count"].as<std::size_t>() ? vm["count"].as<std::size_t>() : objects.size();
        if (duration > 0) {
            total = rate > 0 ? static_cast<std::size_t>(std::ceil(rate * duration))
                             : std::numeric_limits<std::size_t>::max();
        }
        Run run{objects,
                total,
                std::max<std::size_t>(1, vm["per-association"].as<std::size_t>()),
                {vm["host"].as<std::string>(), vm["port"].as<uint16_t>(),
                 vm["called-ae"].as<std::string>(), vm["calling-ae"].as<std::string>(),
                 std::chrono::seconds(60)},
                workers,
                1,
                0.0,
                {},
                {},
                0,
                {}};
        asio::io_context io(1);
        // Idle and echo associations live until the senders are done.
        asio::steady_timer stop(io, asio::steady_timer::time_point::max());
        load::VerificationStats verification;
        for (std::size_t i = 0; i < vm["idle"].as<std::size_t>(); ++i) {
            asio::co_spawn(io, load::hold_idle(run.peer, stop, verification), asio::detached);
        }
        if (const unsigned ms = vm["echo-ms"].as<unsigned>(); ms > 0) {
            asio::co_spawn(
                io, load::echo_every(run.peer, std::chrono::milliseconds(ms), stop, verification),
                asio::detached);
        }
        run.running = run.senders = std::max<std::size_t>(1, vm["associations"].as<std::size_t>());
        run.rate = rate;
        const auto start = Clock::now();
        run.start = start;
        if (duration > 0) {
            run.deadline = start + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(duration));
        }
        for (std::size_t i = 0; i < run.running; ++i) {
            asio::co_spawn(io, sender(run, i), asio::detached);
        }
        // Progress once a second on stderr while the senders run.
        asio::steady_timer progress(io);
        std::function<void(boost::system::error_code)> tick = [&](boost::system::error_code ec) {
            if (ec) return;
            const double s = std::chrono::duration<double>(Clock::now() - start).count();
            std::cerr << "load: " << run.stats.objects;
            if (total != std::numeric_limits<std::size_t>::max()) std::cerr << "/" << total;
            std::cerr << " objects, "
                      << static_cast<uint64_t>(static_cast<double>(run.stats.objects) / s)
                      << " obj/s, " << static_cast<double>(run.stats.bytes) / 1e6 / s << " MB/s\n";
            progress.expires_after(std::chrono::seconds(1));
            progress.async_wait(tick);
        };
        progress.expires_after(std::chrono::seconds(1));
        progress.async_wait(tick);
        run.on_finished = [&progress, &stop] {
            progress.cancel();
            stop.expires_at(asio::steady_timer::clock_type::now());
        };
        io.run();
        const double seconds = std::chrono::duration<double>(run.finished - start).count();
        workers.join();

        const auto& st = run.stats;
        const double ops = static_cast<double>(st.objects) / seconds;
        const double mbps = static_cast<double>(st.bytes) / 1e6 / seconds;
        uint64_t error_count = 0;
        for (const auto& [k, v] : st.errors) error_count += v;
        if (vm.count("json")) {
            boost::json::object errors;
            for (const auto& [k, v] : st.errors) errors[k] = v;
            std::cout << boost::json::serialize(boost::json::object{
                             {"objects", st.objects},
                             {"seconds", seconds},
                             {"objects_per_s", ops},
                             {"mb_per_s", mbps},
                             {"latency_ms",
                              {{"p50", percentile(st.latencies_ms, 0.50)},
                               {"p95", percentile(st.latencies_ms, 0.95)},
                               {"p99", percentile(st.latencies_ms, 0.99)},
                               {"max", percentile(st.latencies_ms, 1.0)}}},
                             {"errors", errors},
                             {"idle_opened", verification.opened},
                             {"verification_failures", verification.failures.size()},
                             {"echo_ms",
                              {{"count", verification.echo_ms.size()},
                               {"p50", percentile(verification.echo_ms, 0.50)},
                               {"p99", percentile(verification.echo_ms, 0.99)},
                               {"max", percentile(verification.echo_ms, 1.0)}}}})
                      << "\n";
        } else {
            std::cout << "objects " << st.objects << " in " << seconds << " s: " << ops
                      << " obj/s, " << mbps << " MB/s\n"
                      << "C-STORE round trip ms: p50 " << percentile(st.latencies_ms, 0.50)
                      << ", p95 " << percentile(st.latencies_ms, 0.95) << ", p99 "
                      << percentile(st.latencies_ms, 0.99) << ", max "
                      << percentile(st.latencies_ms, 1.0) << "\n"
                      << "errors " << error_count << "\n";
            for (const auto& [k, v] : st.errors) std::cout << "  " << v << " x " << k << "\n";
            if (verification.opened + verification.failures.size() > 0) {
                std::cout << "verification associations opened " << verification.opened
                          << ", failed " << verification.failures.size();
                if (!verification.failures.empty())
                    std::cout << " (" << verification.failures[0] << ")";
                std::cout << "\n";
            }
            if (!verification.echo_ms.empty()) {
                std::cout << "C-ECHO under load ms (" << verification.echo_ms.size() << "): p50 "
                          << percentile(verification.echo_ms, 0.50) << ", p99 "
                          << percentile(verification.echo_ms, 0.99) << ", max "
                          << percentile(verification.echo_ms, 1.0) << "\n";
            }
        }
        return error_count == 0 && verification.failures.empty() ? 0 : 1;
    } catch (const po::error& e) {
        std::cerr << "countylink-load: " << e.what() << " (see --help)\n";
        return 2;
    } catch (const std::invalid_argument& e) {  // a malformed option value
        std::cerr << "countylink-load: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "countylink-load: " << e.what() << "\n";
        return 1;
    }
}
