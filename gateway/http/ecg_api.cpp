#include "gateway/http/ecg_api.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <system_error>
#include <vector>

#include <boost/json.hpp>

#include "codecs/ecg/read.hpp"
#include "codecs/ecg/to_dicom.hpp"
#include "codecs/io/file.hpp"
#include "gateway/ingest/ecg_gate.hpp"
#include "gateway/ingest/spool_file.hpp"
#include "gateway/server/clock.hpp"
#include "gateway/server/run_on.hpp"

namespace countylink::http {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
namespace ecg = codecs::ecg;
using boost::asio::awaitable;

namespace {

constexpr std::string_view kPrefix = "/api/v1/ecg";

// What the worker hands back to the session: a status and a JSON body.
struct Answer {
    bhttp::status status = bhttp::status::ok;
    json::value body;
};

Answer error_answer(bhttp::status status, std::string message) {
    Answer a;
    a.status = status;
    a.body = json::object{{"error", std::move(message)}};
    return a;
}

bhttp::status status_for(ecg::ErrorKind kind) {
    switch (kind) {
        case ecg::ErrorKind::unknown_format:
            return bhttp::status::unsupported_media_type;
        case ecg::ErrorKind::too_large:
            return bhttp::status::payload_too_large;
        case ecg::ErrorKind::malformed:
        case ecg::ErrorKind::unsupported:
            break;
    }
    return bhttp::status::unprocessable_entity;
}

std::string error_code(ecg::ErrorKind kind) {
    switch (kind) {
        case ecg::ErrorKind::unknown_format:
            return "ecg_unknown_format";
        case ecg::ErrorKind::too_large:
            return "ecg_too_large";
        case ecg::ErrorKind::unsupported:
            return "ecg_unsupported";
        case ecg::ErrorKind::malformed:
            break;
    }
    return "ecg_malformed";
}

std::span<const std::byte> bytes_of(const std::string& body) {
    return {reinterpret_cast<const std::byte*>(body.data()), body.size()};
}

// Writes `bytes` to a new spool file (closed, not yet fsync'd).
ingest::SpoolFile spool_bytes(ingest::Spool& spool, std::span<const std::byte> bytes) {
    ingest::SpoolFile file(spool);
    file.append(bytes);
    file.close();
    return file;
}

// A file no parser could read goes to quarantine with the reason, as refused DICOM does.
void quarantine(server::Context& ctx, std::span<const std::byte> bytes, const std::string& who,
                const std::string& township, const ecg::ParseError& error) {
    try {
        ingest::SpoolFile file = spool_bytes(ctx.spool, bytes);
        const std::filesystem::path dir = ctx.config.storage.data_dir / "quarantine";
        store::QuarantineRecord q;
        q.file = file.path().filename().replace_extension(".ecg").string();
        q.township = township;
        q.calling_ae = who;
        q.received_at_ms = server::unix_now_ms();
        q.status = 0xC000;
        q.finding = error_code(error.kind);
        q.reason = error.reason;
        q.size = bytes.size();
        std::filesystem::rename(file.path(), dir / q.file);
        io::sync_directory(dir);
        ctx.index.record_quarantine(q);
    } catch (const std::exception& e) {
        ctx.log.error("could not quarantine refused ECG upload: ", e.what());
    }
}

// {id, format, leads, sample_rate, duration_s, heart_rate_bpm, verdict, reasons[], notes[],
// findings[]}: the same shape from the upload answer and from GET /api/v1/ecg/{id}. Reasons
// are why a tracing is unacceptable; notes are told beside the verdict (muscle noise, a likely
// arm swap); findings are both, with codes and leads.
json::object verdict_json(const std::string& id, const store::EcgRecord& r) {
    json::value findings = json::parse(r.findings_json);
    json::array reasons, notes;
    for (const auto& f : findings.as_array()) {
        const auto* note = f.as_object().if_contains("note");
        (note && note->is_bool() && note->as_bool() ? notes : reasons).push_back(f.at("reason"));
    }
    return json::object{
        {"id", id},
        {"format", r.format},
        {"leads", r.leads},
        {"sample_rate", r.sample_rate_hz},
        {"duration_s", r.duration_s},
        {"heart_rate_bpm", r.heart_rate_bpm},
        {"verdict", r.verdict},
        {"reasons", std::move(reasons)},
        {"notes", std::move(notes)},
        {"findings", std::move(findings)},
        {"original_content_type",
         r.original_sha256.empty() ? json::value(nullptr) : json::value(r.original_content_type)}};
}

// Reads, judges, keeps and routes one uploaded recording. Blocking: runs on a worker.
Answer receive(server::Context& ctx, const std::string& body, const std::string& content_type,
               Caller& caller) {
    const std::string& who = caller.who.name;
    const std::string township = caller.who.township.empty() ? "http" : caller.who.township;
    if (body.empty()) {
        return error_answer(bhttp::status::bad_request,
                            "empty body: send the ECG file itself as the request body");
    }
    const auto bytes = bytes_of(body);
    // Spooled once: DICOM is read from and ingested as this file, other formats are kept
    // from it as the original.
    const ingest::SpoolFile received = spool_bytes(ctx.spool, bytes);
    const ecg::ParseResult parsed = ecg::sniff(bytes, content_type) == ecg::Format::dicom
                                        ? ecg::read_dicom_ecg_file(received.path())
                                        : ecg::read_ecg(bytes, content_type);
    if (!parsed.ok()) {
        quarantine(ctx, bytes, who, township, parsed.error);
        ctx.log.warn("refused ECG upload from ", who, ": ", parsed.error.reason);
        ctx.metrics.objects_total.with({"refused", township, "ECG"}).inc();
        caller.audit.description = parsed.error.reason;
        return error_answer(status_for(parsed.error.kind), parsed.error.reason);
    }
    const ecg::Waveform& waveform = *parsed.waveform;
    ingest::IngestRequest request;
    request.calling_ae = "API:" + who;
    request.township = township;
    request.received_at_ms = server::unix_now_ms();
    request.ecg = ingest::assess_waveform(waveform, ingest::quality_params(ctx.config.ecg));

    std::optional<ingest::SpoolFile> converted_file;
    request.file = received.path();
    if (waveform.format != ecg::Format::dicom) {
        // Our DICOM conversion is what queues, viewers and the county PACS get; the original
        // is kept as sent (same durability as objects) and is what the waveform view reads.
        const store::BlobRef ref = ctx.blobs.put(received.path());
        // The same file again is the same ECG, even when its conversion would differ (a file
        // without acquisition time is dated by its arrival).
        const std::string known_id = ecg::derived_uid(ref.sha256, "instance");
        if (const auto known = ctx.index.ecg_record(known_id);
            known && known->original_sha256 == ref.sha256) {
            caller.audit.sop_instance_uids = {known_id};
            Answer again;
            again.body = verdict_json(known_id, *known);
            return again;
        }
        ecg::DicomEcgOptions options;
        options.uid_seed = ref.sha256;
        options.institution_name = request.township;
        options.fallback_time = iso_time(request.received_at_ms).as_string().subview(0, 19);
        const ecg::DicomEcgResult converted = ecg::to_dicom_ecg(waveform, options);
        if (!converted.ok()) {
            ecg::ParseError error;
            error.kind = ecg::ErrorKind::unsupported;
            error.reason = "cannot be converted to a DICOM ECG: " + converted.error;
            quarantine(ctx, bytes, who, township, error);
            return error_answer(status_for(error.kind), error.reason);
        }
        auto& record = request.ecg->record;
        record.original_sha256 = ref.sha256;
        record.original_content_type = content_type;
        record.original_size = ref.raw_size;
        converted_file.emplace(spool_bytes(ctx.spool, converted.bytes));
        request.file = converted_file->path();
    }
    const ingest::IngestOutcome outcome = ctx.pipeline.ingest(request);
    caller.audit.study_instance_uid = outcome.study_instance_uid;
    caller.audit.sop_instance_uids = {outcome.sop_instance_uid};
    if (outcome.result == ingest::IngestOutcome::Result::refused) {
        caller.audit.description = outcome.comment;
        const bool full = outcome.status == 0xA700;
        return error_answer(
            full ? bhttp::status::insufficient_storage : bhttp::status::unprocessable_entity,
            outcome.comment);
    }
    Answer a;
    a.status = outcome.result == ingest::IngestOutcome::Result::duplicate ? bhttp::status::ok
                                                                          : bhttp::status::created;
    a.body = verdict_json(outcome.sop_instance_uid, request.ecg->record);
    return a;
}

// receive(), with a full disk answered as STOW-RS answers it: 507, and not ready.
Answer upload(server::Context& ctx, const std::string& body, const std::string& content_type,
              Caller& caller) {
    try {
        return receive(ctx, body, content_type, caller);
    } catch (const std::system_error& e) {
        if (e.code() != std::errc::no_space_on_device) throw;
        ctx.health.storage_failed("data directory full");
        caller.audit.description = "disk full";
        return error_answer(bhttp::status::insufficient_storage, "gateway disk full, retry later");
    }
}

// The instance behind ECG `id` if `caller` may see it (a reader: only on its queues).
std::optional<store::InstanceRow> visible_instance(server::Context& ctx, const std::string& id,
                                                   Caller& caller) {
    auto instance = ctx.index.latest_instance(id);
    if (!instance) return std::nullopt;
    const std::string& study = instance->record.study_instance_uid.empty()
                                   ? instance->record.sop_instance_uid
                                   : instance->record.study_instance_uid;
    if (!study_visible(caller.who, ctx.queues, study)) return std::nullopt;
    caller.audit.study_instance_uid = instance->record.study_instance_uid;
    caller.audit.sop_instance_uids = {id};
    return instance;
}

// The verdict of a stored ECG.
Answer summary(server::Context& ctx, const std::string& id, Caller& caller) {
    const auto record = ctx.index.ecg_record(id);
    if (!record || !visible_instance(ctx, id, caller))
        return error_answer(bhttp::status::not_found, "no ECG with this id");
    Answer a;
    a.body = verdict_json(id, *record);
    return a;
}

// A stored DICOM ECG read from a spooled copy, so its large values stay on disk.
ecg::ParseResult read_stored_dicom(server::Context& ctx, const std::string& sha256) {
    return ecg::read_dicom_ecg_file(ingest::spooled_copy(ctx.spool, ctx.blobs.open(sha256)).path());
}

// One value per block of `factor` samples (the block's mean: a crude anti-alias filter).
json::array decimated(const std::vector<float>& samples, std::size_t factor) {
    json::array out;
    out.reserve(samples.size() / factor + 1);
    for (std::size_t i = 0; i < samples.size(); i += factor) {
        const std::size_t end = std::min(samples.size(), i + factor);
        double sum = 0;
        for (std::size_t k = i; k < end; ++k) sum += samples[k];
        out.push_back(std::round(sum / static_cast<double>(end - i) * 10) / 10);
    }
    return out;
}

// The waveform of a stored ECG, read again from what was kept (the original when the upload
// was not DICOM). `?decimate=N` keeps one sample in N.
Answer waveform(server::Context& ctx, const std::string& id, std::size_t factor, Caller& caller) {
    const auto record = ctx.index.ecg_record(id);
    const auto instance = visible_instance(ctx, id, caller);
    if (!record || !instance) return error_answer(bhttp::status::not_found, "no ECG with this id");
    const bool original = !record->original_sha256.empty();
    const ecg::ParseResult parsed =
        original ? ecg::read_ecg(
                       store::read_all(ctx.blobs.open(record->original_sha256), kMaxEcgUploadBytes),
                       record->original_content_type)
                 : read_stored_dicom(ctx, instance->record.sha256);
    if (!parsed.ok()) {
        return error_answer(bhttp::status::unprocessable_entity,
                            "stored ECG cannot be read: " + parsed.error.reason);
    }
    const ecg::Waveform& w = *parsed.waveform;
    json::array leads;
    for (const auto& lead : w.leads) {
        leads.push_back(
            json::object{{"name", lead.name}, {"microvolts", decimated(lead.microvolts, factor)}});
    }
    json::array measurements;
    for (const auto& m : w.measurements) {
        measurements.push_back(
            json::object{{"name", m.name}, {"value", m.value}, {"unit", m.unit}});
    }
    Answer a;
    a.body = json::object{
        {"id", id},
        {"format", ecg::format_name(w.format)},
        {"sample_rate", w.sample_rate_hz / static_cast<double>(factor)},
        {"duration_s", w.duration_s()},
        {"acquisition_time", w.acquisition_time},
        {"device", w.device_manufacturer + (w.device_model.empty() ? "" : " ") + w.device_model},
        {"leads", std::move(leads)},
        {"measurements", std::move(measurements)}};
    return a;
}

}  // namespace

awaitable<std::optional<Response>> handle_ecg(const Request& req, std::string_view path,
                                              Caller& caller, server::Context& ctx) {
    if (path != kPrefix && !path.starts_with(std::string(kPrefix) + "/")) co_return std::nullopt;
    const bool get = req.method() == bhttp::verb::get;
    Answer answer;
    if (path == kPrefix && req.method() == bhttp::verb::post) {
        const std::string type(req[bhttp::field::content_type]);
        const std::string& body = req.body();
        answer = co_await server::run_on(
            ctx.workers, [&ctx, &body, &type, &caller] { return upload(ctx, body, type, caller); });
    } else if (get && path.size() > kPrefix.size() + 1) {
        std::string rest(path.substr(kPrefix.size() + 1));
        const std::size_t slash = rest.find('/');
        const std::string id = rest.substr(0, slash);
        const std::string tail = slash == std::string::npos ? "" : rest.substr(slash);
        std::size_t factor = 1;
        if (auto d = query_param(
                query_of(std::string_view(req.target().data(), req.target().size())), "decimate")) {
            try {
                factor = std::stoul(*d);
            } catch (const std::exception&) {
                factor = 0;
            }
            if (factor < 1 || factor > 100) {
                co_return json_error(req, bhttp::status::bad_request,
                                     "decimate must be an integer from 1 to 100");
            }
        }
        if (tail.empty()) {
            answer = co_await server::run_on(
                ctx.workers, [&ctx, &id, &caller] { return summary(ctx, id, caller); });
        } else if (tail == "/waveform") {
            answer = co_await server::run_on(ctx.workers, [&ctx, &id, &factor, &caller] {
                return waveform(ctx, id, factor, caller);
            });
        } else {
            co_return json_error(req, bhttp::status::not_found, "no such resource");
        }
    } else {
        co_return json_error(req, bhttp::status::method_not_allowed,
                             "use POST /api/v1/ecg or GET /api/v1/ecg/{id}[/waveform]");
    }
    co_return json_response(req, answer.status, answer.body);
}

}  // namespace countylink::http
