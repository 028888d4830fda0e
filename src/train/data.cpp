// train/data.cpp — the text dataset (read, encode, 90/10 split) and the random-window batch loader.
#include <attn/train.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace attn {

namespace {
std::string read_text_file(const std::string& path) {
  std::error_code ec;
  ATTN_CHECK(std::filesystem::exists(path, ec), IoError, "data file {}: does not exist", path);
  ATTN_CHECK(std::filesystem::is_regular_file(path, ec), IoError, "data file {}: is not a regular file", path);
  std::ifstream in(path, std::ios::binary);
  ATTN_CHECK(in.good(), IoError, "data file {}: cannot open ({})", path, std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  ATTN_CHECK(!in.bad(), IoError, "data file {}: read failed", path);
  return ss.str();
}
}  // namespace

TextDataset text_dataset_load(const std::string& path, int64_t block_size, const CharTokenizer* tokenizer) {
  const std::string text = read_text_file(path);
  ATTN_CHECK(!text.empty(), ValueError, "data file {}: is empty; give a text of at least {} characters", path,
             10 * (block_size + 1));
  TextDataset d{.path = path,
                .tokenizer = tokenizer ? *tokenizer : CharTokenizer::from_text(text, "data file " + path),
                .train = {},
                .val = {}};
  std::vector<int32_t> ids;
  try {
    ids = d.tokenizer.encode(text);
  } catch (const Error& e) {
    throw ValueError(fmt::format("data file {}: {}", path, e.what()));
  }
  const auto n = static_cast<int64_t>(ids.size());
  const int64_t n_train = n * 9 / 10;
  // Both splits need one full window plus its shifted target.
  ATTN_CHECK(n - n_train >= block_size + 1 && n_train >= block_size + 1, ValueError,
             "data file {}: {} characters are shorter than one block: the 10 % validation split has {} tokens, "
             "block_size {} needs {} (the text needs at least {} characters)",
             path, n, n - n_train, block_size, block_size + 1, 10 * (block_size + 1));
  d.train.assign(ids.begin(), ids.begin() + n_train);
  d.val.assign(ids.begin() + n_train, ids.end());
  return d;
}

BatchLoader::BatchLoader(const std::vector<int32_t>& tokens, int64_t batch, int64_t block, RngState state)
    : tokens_(&tokens), batch_(batch), block_(block), rng_(state) {
  ATTN_CHECK(batch > 0 && block > 0, ConfigError, "BatchLoader: batch {} and block {} must be positive", batch, block);
  ATTN_CHECK(static_cast<int64_t>(tokens.size()) >= block + 1, ValueError,
             "BatchLoader: {} tokens are shorter than one block ({} + 1)", tokens.size(), block);
}

Batch BatchLoader::next() {
  const int64_t B = batch_, T = block_, n = static_cast<int64_t>(tokens_->size());
  Batch b{.x = Tensor::empty({B, T}, DType::kI32), .y = Tensor::empty({B, T}, DType::kI32)};
  int32_t* x = b.x.data<int32_t>();
  int32_t* y = b.y.data<int32_t>();
  const int32_t* src = tokens_->data();
  for (int64_t r = 0; r < B; ++r) {
    const int64_t start = rng_.randint(0, n - T);  // start + T <= n - 1: the target exists
    std::memcpy(x + r * T, src + start, static_cast<size_t>(T) * sizeof(int32_t));
    std::memcpy(y + r * T, src + start + 1, static_cast<size_t>(T) * sizeof(int32_t));
  }
  return b;
}

}  // namespace attn
