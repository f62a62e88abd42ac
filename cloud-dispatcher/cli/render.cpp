#include "cli/render.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "core/time_format.h"

namespace edgelink::dispatcher {
namespace {

// Display width of UTF-8 text (code points; good enough for ids, names and timestamps).
size_t displayWidth(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

std::string cell(const Field* f, size_t maxWidth) {
  if (f == nullptr || f->kind == FieldKind::kNull) {
    return "-";
  }
  std::string text = f->kind == FieldKind::kTimestamp ? shortTimestamp(f->text) : f->text;
  if (f->kind == FieldKind::kBool) {
    text = f->text == "true" ? "yes" : "no";
  }
  for (char& c : text) {
    if (c == '\n' || c == '\t' || c == '\r') {
      c = ' ';
    }
  }
  if (maxWidth > 3 && displayWidth(text) > maxWidth) {
    // Cut on a code point boundary.
    size_t keep = 0;
    size_t width = 0;
    while (keep < text.size() && width < maxWidth - 3) {
      ++keep;
      while (keep < text.size() && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) {
        ++keep;
      }
      ++width;
    }
    text = text.substr(0, keep) + "...";
  }
  return text;
}

void writeField(rapidjson::Writer<rapidjson::StringBuffer>& w, const Field& f) {
  w.Key(f.name.c_str(), static_cast<rapidjson::SizeType>(f.name.size()));
  switch (f.kind) {
    case FieldKind::kNull:
      w.Null();
      break;
    case FieldKind::kString:
    case FieldKind::kTimestamp:
      w.String(f.text.c_str(), static_cast<rapidjson::SizeType>(f.text.size()));
      break;
    case FieldKind::kBool:
      w.Bool(f.text == "true");
      break;
    case FieldKind::kNumber:
    case FieldKind::kJson:
      w.RawValue(f.text.c_str(), f.text.size(), rapidjson::kObjectType);
      break;
  }
}

void writeRecord(rapidjson::Writer<rapidjson::StringBuffer>& w, const Record& r) {
  w.StartObject();
  for (const auto& f : r) {
    writeField(w, f);
  }
  w.EndObject();
}

}  // namespace

int exitCodeForAnswer(int statusCode) {
  return statusCode >= 200 && statusCode < 300 ? kExitOk : kExitFailed;
}

int exitCodeForKeyError(const Error& e) {
  return e.status == Status::kNotFound ? kExitUsage : kExitFailed;
}

int exitCodeForDbError(const Error& e) {
  switch (e.status) {
    case Status::kUnavailable:
      return kExitDatabase;
    case Status::kConflict:
    case Status::kNotFound:
      return kExitFailed;
    default:
      return kExitDatabase;
  }
}

Field stringField(std::string name, std::string value) {
  return Field{std::move(name), FieldKind::kString, std::move(value)};
}

Field numberField(std::string name, int64_t value) {
  return Field{std::move(name), FieldKind::kNumber, std::to_string(value)};
}

Field boolField(std::string name, bool value) {
  return Field{std::move(name), FieldKind::kBool, value ? "true" : "false"};
}

Field nullField(std::string name) {
  return Field{std::move(name), FieldKind::kNull, {}};
}

const Field* findField(const Record& r, std::string_view name) {
  for (const auto& f : r) {
    if (f.name == name) {
      return &f;
    }
  }
  return nullptr;
}

std::string fieldText(const Record& r, std::string_view name) {
  const Field* f = findField(r, name);
  return f == nullptr || f->kind == FieldKind::kNull ? std::string() : f->text;
}

std::string renderTable(const std::vector<Record>& records, const std::vector<Column>& columns) {
  if (records.empty()) {
    return "(none)\n";
  }
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> widths;
  for (const auto& c : columns) {
    widths.push_back(displayWidth(c.header));
  }
  for (const auto& r : records) {
    std::vector<std::string> row;
    for (size_t i = 0; i < columns.size(); ++i) {
      row.push_back(cell(findField(r, columns[i].field), columns[i].maxWidth));
      widths[i] = std::max(widths[i], displayWidth(row.back()));
    }
    cells.push_back(std::move(row));
  }
  auto line = [&](const std::vector<std::string>& values) {
    std::string out;
    for (size_t i = 0; i < values.size(); ++i) {
      out += values[i];
      if (i + 1 < values.size()) {
        out += std::string(widths[i] - displayWidth(values[i]) + 2, ' ');
      }
    }
    return out + "\n";
  };
  std::vector<std::string> headers;
  for (const auto& c : columns) {
    headers.push_back(c.header);
  }
  std::string out = line(headers);
  for (const auto& row : cells) {
    out += line(row);
  }
  return out;
}

std::string renderDetail(const Record& record) {
  size_t width = 0;
  for (const auto& f : record) {
    width = std::max(width, f.name.size());
  }
  std::string out;
  for (const auto& f : record) {
    std::string value =
        f.kind == FieldKind::kNull ? "-" : (f.kind == FieldKind::kBool ? cell(&f, 0) : f.text);
    out += f.name + ":" + std::string(width - f.name.size() + 1, ' ') + value + "\n";
  }
  return out;
}

std::string renderJsonObject(const Record& record) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  writeRecord(w, record);
  return std::string(sb.GetString(), sb.GetSize()) + "\n";
}

std::string renderJsonArray(const std::vector<Record>& records) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartArray();
  for (const auto& r : records) {
    writeRecord(w, r);
  }
  w.EndArray();
  return std::string(sb.GetString(), sb.GetSize()) + "\n";
}

std::string pgTimestampToRfc3339(std::string_view text) {
  std::string s(text);
  // PostgreSQL (ISO style, UTC) writes "+00" as the offset; RFC 3339 wants "+00:00".
  if (s.size() >= 3 && (s[s.size() - 3] == '+' || s[s.size() - 3] == '-')) {
    s += ":00";
  }
  auto ms = parseRfc3339Ms(s);
  return ms ? formatRfc3339Ms(*ms) : std::string(text);
}

std::string shortTimestamp(std::string_view rfc3339) {
  if (rfc3339.size() >= 19 && rfc3339[10] == 'T') {
    std::string s(rfc3339.substr(0, 19));
    s[10] = ' ';
    return s;
  }
  return std::string(rfc3339);
}

}  // namespace edgelink::dispatcher
