#include "gateway/http/stow.hpp"
#include "gateway/server/clock.hpp"

#include <fcntl.h>

#include <chrono>
#include <optional>
#include <vector>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "codecs/dicom/part10.hpp"
#include "codecs/io/file.hpp"
#include "gateway/http/content_decoder.hpp"
#include "gateway/http/multipart.hpp"
#include "gateway/ingest/spool_file.hpp"
#include "gateway/server/run_on.hpp"

namespace countylink::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::awaitable;

namespace {

// One received part, spooled as sent.
struct ReceivedPart {
    std::optional<ingest::SpoolFile> spool;
    std::string refusal;  // set when the part is not kept (type, size, disk)
};

// Receives parts into spool files; bounded by max_object_bytes per part.
class SpoolingHandler final : public PartHandler {
  public:
    SpoolingHandler(ingest::Spool& spool, uint64_t max_part) : spool_(spool), max_part_(max_part) {}

    void on_part_begin(const std::map<std::string, std::string>& headers) override {
        auto& part = parts_.emplace_back();
        const auto type = headers.find("content-type");
        const std::string media =
            type == headers.end() ? "" : type->second.substr(0, type->second.find(';'));
        if (media != "application/dicom") {
            part.refusal = "part is " + (media.empty() ? std::string("untyped") : media) +
                           ", not application/dicom";
            return;
        }
        try {
            part.spool.emplace(spool_);
        } catch (const std::system_error& e) {
            part.refusal = "cannot spool part: " + std::string(e.what());
        }
        size_ = 0;
    }
    void on_part_data(std::span<const std::byte> data) override {
        auto& part = parts_.back();
        if (!part.spool) return;
        size_ += data.size();
        if (size_ > max_part_) {
            part.spool.reset();
            part.refusal = "part larger than the gateway's object size limit";
            return;
        }
        try {
            part.spool->append(data);
        } catch (const std::system_error& e) {
            part.spool.reset();
            part.refusal = e.code() == std::errc::no_space_on_device
                               ? "gateway disk full, retry later"
                               : "cannot spool part, retry later";
        }
    }
    void on_part_end() override {
        if (parts_.back().spool) parts_.back().spool->close();
        ++finished_;
    }

    std::vector<ReceivedPart>& parts() { return parts_; }
    std::size_t finished() const { return finished_; }

  private:
    ingest::Spool& spool_;
    uint64_t max_part_;
    uint64_t size_ = 0;
    std::size_t finished_ = 0;
    std::vector<ReceivedPart> parts_;
};

json::object element(const char* vr, json::value v) {
    return json::object{{"vr", vr}, {"Value", json::array{std::move(v)}}};
}

// Rewrites a part (the sender's Part-10 file) as ours: the same dataset bytes behind our own
// meta header, so every stored object has the same, deterministic frame. Runs on a worker.
// Returns the refusal reason, or empty and fills `meta`.
std::string normalise(const std::filesystem::path& in, ingest::SpoolFile& out,
                      codecs::dicom::MetaInfo& meta) {
    io::UniqueFd fd = io::open_file(in, O_RDONLY);
    std::vector<std::byte> head(64 * 1024);
    std::size_t filled = 0;
    while (filled < head.size()) {
        const std::size_t n = io::read_some(fd.get(), std::span(head).subspan(filled));
        if (n == 0) break;
        filled += n;
    }
    head.resize(filled);
    const auto start = codecs::dicom::read_part10_start(head);
    if (!start) return "not a DICOM Part-10 file (no preamble, DICM and meta header)";
    meta = start->meta;
    out.append(codecs::dicom::encode_part10_header(meta));
    out.append(std::span(head).subspan(start->dataset_offset));
    std::vector<std::byte> chunk(1 << 20);
    for (std::size_t n; (n = io::read_some(fd.get(), chunk)) > 0;) out.append({chunk.data(), n});
    out.close();
    return {};
}

// The audit entry of one part: the caller's, with this part's outcome.
audit::Event part_event(const Caller& caller, const std::string& study, const std::string& sop,
                        const std::string& refusal, uint16_t status) {
    audit::Event e = caller.audit;
    e.type = audit::EventType::store;
    e.study_instance_uid = study;
    if (!sop.empty()) e.sop_instance_uids = {sop};
    e.outcome = !refusal.empty() ? audit::Outcome::serious_failure
                : status != 0    ? audit::Outcome::minor_failure
                                 : audit::Outcome::success;
    e.description = refusal;
    return e;
}

// What the pipeline gets for a part (built here: no aggregate temporaries in coroutines).
ingest::IngestRequest part_request(const std::filesystem::path& file, const auth::Principal& who,
                                   const std::string& study_uid) {
    ingest::IngestRequest r;
    r.file = file;
    r.calling_ae = "STOW:" + who.name;
    r.township = who.township.empty() ? "stow" : who.township;
    r.received_at_ms = server::unix_now_ms();
    r.required_study_uid = study_uid;
    return r;
}

}  // namespace

awaitable<Response> handle_stow(HttpStream& stream, beast::flat_buffer& buffer,
                                HeaderParser& header, std::string study_uid, Caller& caller,
                                server::Context& ctx) {
    const auth::Principal& who = caller.who;
    const auto& head = header.get();
    Request reply_to;  // only version and keep-alive matter for building answers
    reply_to.version(head.version());
    reply_to.keep_alive(head.keep_alive());
    const std::string content_type(head[bhttp::field::content_type]);
    const auto boundary = header_parameter(content_type, "boundary");
    const auto type = header_parameter(content_type, "type");
    if (content_type.rfind("multipart/related", 0) != 0 || !boundary ||
        (type && *type != "application/dicom")) {
        co_return json_error(reply_to, bhttp::status::unsupported_media_type,
                             "STOW-RS takes multipart/related; type=\"application/dicom\" with a "
                             "boundary");
    }
    std::optional<ContentDecoder> decoder;
    try {
        decoder.emplace(std::string(head[bhttp::field::content_encoding]));
    } catch (const std::invalid_argument& e) {
        co_return json_error(reply_to, bhttp::status::unsupported_media_type, e.what());
    }

    SpoolingHandler parts(ctx.spool, ctx.config.dicom.max_object_bytes);
    MultipartParser multipart(*boundary, parts);
    bhttp::request_parser<bhttp::buffer_body> body{std::move(header)};
    body.body_limit(boost::none);  // per-part limits apply instead
    std::vector<std::byte> chunk(256 * 1024);
    std::string malformed;
    while (!body.is_done()) {
        body.get().body().data = chunk.data();
        body.get().body().size = chunk.size();
        beast::error_code ec;
        stream.expires_after(std::chrono::seconds(60));
        co_await bhttp::async_read(stream, buffer, body,
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec) throw beast::system_error(ec);
        const std::size_t n = chunk.size() - body.get().body().size;
        if (!malformed.empty() || n == 0) continue;  // drain what follows an error
        try {
            decoder->feed({chunk.data(), n},
                          [&](std::span<const std::byte> plain) { multipart.feed(plain); });
        } catch (const std::exception& e) {
            malformed = e.what();
        }
    }
    if (malformed.empty()) {
        try {
            decoder->finish();
            multipart.finish();
        } catch (const std::exception& e) {
            malformed = e.what();
        }
    }
    if (!malformed.empty()) {
        co_return json_error(reply_to, bhttp::status::bad_request,
                             "malformed STOW-RS body: " + malformed);
    }
    if (parts.parts().empty()) {
        co_return json_error(reply_to, bhttp::status::bad_request, "no parts in the body");
    }

    json::array referenced, failed;
    bool too_large = false;
    std::size_t out_of_space = 0;  // parts refused because the data directory is full
    for (auto& part : parts.parts()) {
        std::string refusal = part.refusal;
        uint16_t reason = 0xC000;
        codecs::dicom::MetaInfo meta;
        std::optional<ingest::SpoolFile> normal;
        if (refusal.find("larger") != std::string::npos) too_large = true;
        if (refusal.find("disk full") != std::string::npos) reason = 0xA700;
        if (refusal.empty()) {
            normal.emplace(ctx.spool);
            auto& in = *part.spool;
            auto& out = *normal;
            refusal = co_await server::run_on(ctx.workers, [&] {
                try {
                    return normalise(in.path(), out, meta);
                } catch (const std::system_error& e) {
                    // The copy with our meta header can fill the disk too: answer, not drop.
                    return e.code() == std::errc::no_space_on_device
                               ? std::string("gateway disk full, retry later")
                               : "cannot spool part, retry later: " + std::string(e.what());
                }
            });
            if (refusal.find("disk full") != std::string::npos) reason = 0xA700;
        }
        if (refusal.empty()) {
            const ingest::IngestRequest request = part_request(normal->path(), who, study_uid);
            auto& pipeline = ctx.pipeline;
            const auto outcome = co_await server::run_on(
                ctx.workers, [&pipeline, &request] { return pipeline.ingest(request); });
            ctx.audit.record(part_event(
                caller, outcome.study_instance_uid, meta.sop_instance_uid,
                outcome.result == ingest::IngestOutcome::Result::refused ? outcome.comment : "",
                outcome.status));
            if (outcome.result != ingest::IngestOutcome::Result::refused) {
                json::object item{{"00081150", element("UI", json::string(meta.sop_class_uid))},
                                  {"00081155", element("UI", json::string(meta.sop_instance_uid))},
                                  {"00081190", element("UR", json::string("/dicomweb/instances/" +
                                                                          meta.sop_instance_uid))}};
                if (outcome.status != 0) item["00081196"] = element("US", outcome.status);
                referenced.push_back(std::move(item));
                continue;
            }
            refusal = outcome.comment;
            reason = outcome.status;
        } else {
            ctx.audit.record(part_event(caller, study_uid, meta.sop_instance_uid, refusal, reason));
        }
        if (refusal.find("disk full") != std::string::npos) ++out_of_space;
        json::object item{{"00081197", element("US", reason)},
                          {"00000902", element("LO", json::string(refusal))}};
        if (!meta.sop_class_uid.empty()) {
            item["00081150"] = element("UI", json::string(meta.sop_class_uid));
        }
        if (!meta.sop_instance_uid.empty()) {
            item["00081155"] = element("UI", json::string(meta.sop_instance_uid));
        }
        failed.push_back(std::move(item));
    }
    if (too_large && referenced.empty()) {
        co_return json_error(reply_to, bhttp::status::payload_too_large,
                             "every part exceeded the object size limit");
    }
    json::object body_json;
    if (!study_uid.empty()) {
        body_json["00081190"] = element("UR", json::string("/dicomweb/studies/" + study_uid));
    }
    if (!referenced.empty()) {
        body_json["00081199"] = json::object{{"vr", "SQ"}, {"Value", std::move(referenced)}};
    }
    const std::size_t n_failed = failed.size();
    const bool any_failed = n_failed > 0;
    const bool any_stored = body_json.contains("00081199");
    if (any_failed)
        body_json["00081198"] = json::object{{"vr", "SQ"}, {"Value", std::move(failed)}};
    if (out_of_space > 0) ctx.health.storage_failed("data directory full");
    // Nothing stored and the disk is why: 507, which tells the sender to retry later.
    const bool disk_full = !any_stored && out_of_space == n_failed;
    const auto status = !any_failed  ? bhttp::status::ok
                        : any_stored ? bhttp::status::accepted
                        : disk_full  ? bhttp::status::insufficient_storage
                                     : bhttp::status::conflict;
    co_return text_response(reply_to, status, json::serialize(body_json) + "\n",
                            "application/dicom+json");
}

}  // namespace countylink::http
