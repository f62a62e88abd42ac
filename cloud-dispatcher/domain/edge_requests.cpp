#include "domain/edge_requests.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "domain/remote_config.h"
#include "envelope/envelope.h"

namespace edgelink::dispatcher {

EdgeRequestHandlers EdgeRequestHandlers::builtIn() {
  EdgeRequestHandlers h;
  h.add("get_config", answerGetConfig);
  return h;
}

void EdgeRequestHandlers::add(const std::string& type, EdgeRequestHandler handler) {
  handlers_[type] = std::move(handler);
}

const EdgeRequestHandler* EdgeRequestHandlers::find(const std::string& type) const {
  auto it = handlers_.find(type);
  return it == handlers_.end() ? nullptr : &it->second;
}

Result<EdgeAnswer> EdgeRequestHandlers::answer(pg::Connection& db,
                                               const EdgeRequestRow& request) const {
  const EdgeRequestHandler* handler = find(request.type);
  if (handler == nullptr) {
    return unknownTypeAnswer(request.type);
  }
  return (*handler)(db, request);
}

EdgeAnswer unknownTypeAnswer(const std::string& type) {
  rapidjson::Document doc(rapidjson::kObjectType);
  const std::string text = "unknown request type '" + type + "' (the cloud answers: get_config)";
  doc.AddMember("error", rapidjson::Value(text.c_str(), doc.GetAllocator()), doc.GetAllocator());
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  doc.Accept(w);
  return EdgeAnswer{toInt(Status::kNotFound), std::string(buf.GetString(), buf.GetSize())};
}

Result<EdgeAnswer> answerGetConfig(pg::Connection& db, const EdgeRequestRow& request) {
  auto config = readRemoteConfig(db, request.edgeId);
  if (!config) {
    return config.error();
  }
  return EdgeAnswer{200, remoteConfigBody(*config)};
}

std::string encodeEdgeAnswer(const EdgeRequestRow& request, int statusCode,
                             const std::string& bodyJson, const std::string& sender,
                             int64_t nowMs) {
  envelope::Id id = request.idIsNumber ? envelope::Id::number(std::stoull(request.id))
                                       : envelope::Id::text(request.id);
  auto env = envelope::Envelope::response(std::move(id), request.type, sender, nowMs, statusCode);
  rapidjson::Document body;
  body.Parse(bodyJson.data(), bodyJson.size());
  if (!body.HasParseError() && body.IsObject()) {
    for (auto& m : body.GetObject()) {
      env.set(m.name.GetString(), rapidjson::Value(m.value, env.allocator()));
    }
  }
  return envelope::encode(env);
}

}  // namespace edgelink::dispatcher
