// Deterministic test corpus for the tokenizer: >= 2,000 strings in every
// category the tokenizer must get right. No downloads: strings are built from
// the word lists below with a seeded generator, so every run sees the same
// corpus. Code points newer than Unicode 14 are left out. U+0085 and U+FEFF
// (JS regex \s and Oniguruma disagree on them), U+017F and U+212A (case-fold
// into 's' / 'k' under (?i)) and the other characters in JS_DIFFERS are in:
// Hugging Face's Rust library (npm "tokenizers") is the reference for every
// string; strings holding them are marked js: false, and the JavaScript
// references are compared only on the others.
'use strict';

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6D2B79F5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EN = ('the quick brown fox jumps over lazy dog language model reinforcement learning ' +
  'policy gradient reward token sequence training step batch loss value function ' +
  'hello world this is a test of tokenizer with many different words and some ' +
  'Punctuation Capitalized UPPERCASE MixedCase camelCase snake_case kebab-case ' +
  'naïve café résumé coöperate façade jalapeño Zürich Ångström').split(' ');
const CODE = [
  'int main(int argc, char **argv) {\n\treturn 0;\n}\n',
  'def f(x):\n    if x > 0:\n        return x ** 2\n    return -x\n',
  'for (let i = 0; i < n; i++) { sum += a[i] * b[i]; }',
  'const std::vector<int>& v = m.at("key");  // comment',
  '#include <stdio.h>\n#define MAX(a,b) ((a)>(b)?(a):(b))\n',
  'SELECT id, name FROM users WHERE age >= 18 ORDER BY name;',
  '    x = np.array([[1, 2], [3, 4]], dtype=np.float32)\n',
  '<div class="row"><span id=\'a\'>&nbsp;</span></div>',
  'fn main() -> Result<(), Box<dyn Error>> { Ok(()) }',
  'if [ -f "$HOME/.bashrc" ]; then . "$HOME/.bashrc"; fi',
  '{"key": [1, 2.5e-3, true, null], "nested": {"a": "b"}}',
  'λx. x + 1 ≠ 2 ∧ ∀y ∈ ℝ: y² ≥ 0',
  '\t\tcase 0x1F: return "\\u001f";\r\n',
  'a+=1;b-=2;c*=3;d/=4;e%=5;f<<=6;g>>=7;h&=8;i|=9;j^=10;',
  '/* multi\n * line\n */ /// doc comment //! inner',
];
const ZH = '我们 你好 世界 语言 模型 强化 学习 中文 分词 测试 今天 天气 很好 北京 上海 计算机 人工智能 的 了 是 在 一个 没有 我 他 她 们'.split(' ');
const AR = 'مرحبا بالعالم اللغة العربية نموذج التعلم المعزز الكلمات كتاب مدرسة السلام عليكم شكرا'.split(' ');
const HI = 'नमस्ते दुनिया भाषा मॉडल सीखना हिंदी परीक्षण शब्द किताब विद्यालय धन्यवाद क्षत्रिय'.split(' ');
const RU = 'привет мир язык модель обучение подкреплением слово книга школа спасибо Москва ЁЛКА ёжик'.split(' ');
const JA = 'こんにちは 世界 カタカナ ひらがな 東京 日本語 です ます ガギグゲゴ'.split(' ');
const KO = '안녕하세요 세계 한국어 모델 학습 토크나이저'.split(' ');
const OTHER = 'Ελληνικά γλώσσα שלום עולם สวัสดีครับ ภาษาไทย Tiếng Việt ქართული Հայերեն ಕನ್ನಡ தமிழ் বাংলা'.split(' ');
const EMOJI = ['😀', '🤖', '👍🏽', '❤️', '🇺🇸', '🇯🇵', '👨‍👩‍👧‍👦', '👩🏾‍💻', '🏳️‍🌈', '🧑‍🤝‍🧑', '1️⃣', '#️⃣',
  '🙂‍↔️', '🐈‍⬛', '⚡', '✨', '🔥🔥🔥', '😂😂', '👋🏻👋🏼👋🏽👋🏾👋🏿', '🫠', '🦀'];
const CONTR = ["it's", "don't", "we're", "you've", "I'm", "they'll", "she'd", "IT'S", "DON'T",
  "WE'RE", "YOU'VE", "I'M", "THEY'LL", "SHE'D", "rock'n'roll", "'s", "''", "'tis", "o'clock",
  "it’s", "don’t", "'S'T'RE", "x'll'd", "'ve'm"];
const WS = [' ', '  ', '   ', '\t', '\t\t', '\n', '\n\n', '\r\n', ' \n', '\n ', ' \t \n',
  '\u00a0', '\u3000', '\u2003', '\u2009', '\u202f', '\u2028', '\v', '\f', '\n\n\n\n', '        '];
const SPECIALS = ['<|im_start|>', '<|im_end|>', '<|endoftext|>', '<think>', '</think>',
  '<tool_call>', '<|fim_prefix|>', '<|vision_pad|>'];
const NEAR_SPECIALS = ['<|im_end', '|im_end|>', '<|im_end|', '<|IM_END|>', '< |im_end|>',
  '<|endoftext', '<think', '<<|im_start|>>', '<|im_start|><|im_start|>'];
/* Code points that byte-level BPE splits mid-character, decomposed forms that
 * NFC composes, and other boundary cases. */
const ODD = ['𠀀', '𪚥', '𝕏𝕐', '𓀀𓀁', '\u{1F9FF}', '\u{E000}', '\u{F8FF}', '\u{FFFD}', '\u{10FFFD}',
  'e\u0301', 'A\u030A', '\u212B', 'a\u0308\u0304', '\u1100\u1161\u11A8', 'n\u0303o',
  'Z\u0351\u0348\u034D\u0326a\u0362\u034El\u0315\u0354g\u0363o\u0489', '\u0915\u094D\u0937',
  '\u00ad', '\u200b', '\u200d', '\u200c', '\u2060', '\u0000', '\u0001', '\u001f', '\u007f',
  '\u0080', '\u009f', '\u00a0', '\u00ff', 'ÿ', 'Ā', 'ß', 'ﬁ', '①②③', '½¾',
  '٣٤٥', '१२३', '〇', 'Ⅻ'];

/* Where JavaScript's regexes (the transformers.js and gpt-3-encoder
 * references) and Oniguruma (Hugging Face's Rust library) disagree. */
const JS_DIFFERS = /[\u0085\ufeff\u017f\u212a\u2028-\u202e\u2060-\u206f]/;
/* The four characters once skipped, in the places they matter: whitespace
 * runs, contractions under (?i), word starts, around specials. */
const EDGE = ['\u0085', '\ufeff', '\u017f', '\u212a'];
const EDGE_CTX = ["'", "it'", "IT'", ' ', '  ', '\n', '\t', 'a', 'K', 's', 'ss', 'Kelvin', '<|im_end|>',
  '1', '\u00a0', '\u2028', '\u2029', 'é', '你'];

function pick(r, a) { return a[Math.floor(r() * a.length)]; }
function words(r, list, n, sep) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(pick(r, list));
  return out.join(sep === undefined ? ' ' : sep);
}
function digits(r, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += String(Math.floor(r() * 10));
  return s;
}
const BLOCKS = [[0x20, 0x7e], [0xa1, 0x17e], [0x391, 0x3c9], [0x410, 0x44f], [0x5d0, 0x5ea],
  [0x621, 0x64a], [0x905, 0x939], [0xe01, 0xe3a], [0x3041, 0x3096], [0x30a1, 0x30fa],
  [0x4e00, 0x9fa5], [0xac00, 0xd7a3], [0x1f300, 0x1f5ff], [0x1f600, 0x1f64f], [0x2000, 0x206f],
  [0x2190, 0x22ff], [0xff01, 0xff5e], [0x300, 0x36f], [0x20000, 0x2a6d6]];
function randomChars(r, n) {
  let s = '';
  for (let i = 0; i < n; i++) {
    const b = pick(r, BLOCKS);
    let cp = b[0] + Math.floor(r() * (b[1] - b[0] + 1));
    s += String.fromCodePoint(cp);
  }
  return s;
}

function generate() {
  const r = rng(20240611);
  const out = [];
  const add = (cat, text) => out.push({cat, text});
  for (let i = 0; i < 300; i++) {
    let s = words(r, EN, 3 + Math.floor(r() * 20));
    s = s[0].toUpperCase() + s.slice(1) + pick(r, ['.', '!', '?', '...', ',', ';', ':', '']);
    add('english', s);
  }
  for (let i = 0; i < 200; i++) {
    let s = '';
    for (let k = 0, n = 1 + Math.floor(r() * 3); k < n; k++) s += pick(r, CODE);
    if (r() < 0.3) s = s.replace(/\n/g, '\r\n');
    if (r() < 0.3) s = s.replace(/    /g, '\t');
    add('code', s);
  }
  const scripts = {chinese: [ZH, ''], arabic: [AR, ' '], hindi: [HI, ' '], cyrillic: [RU, ' '],
    japanese: [JA, ''], korean: [KO, ' '], other_scripts: [OTHER, ' ']};
  for (const [cat, [list, sep]] of Object.entries(scripts))
    for (let i = 0; i < 80; i++) {
      let s = words(r, list, 2 + Math.floor(r() * 15), sep);
      if (r() < 0.4) s += pick(r, ['。', '，', '؟', '।', '!', ' ', '\n']) + words(r, EN, 2);
      add(cat, s);
    }
  for (let i = 0; i < 150; i++) {
    let s = '';
    for (let k = 0, n = 1 + Math.floor(r() * 6); k < n; k++)
      s += pick(r, EMOJI) + (r() < 0.5 ? pick(r, [' ', '', 'ok ', '\n', 'a']) : '');
    add('emoji', s);
  }
  for (let i = 0; i < 150; i++) {
    const n = 1 + Math.floor(r() * (i < 100 ? 20 : 300));
    let s = digits(r, n);
    if (r() < 0.3) s = pick(r, ['$', 'x=', ' ', 'v', '-', '+']) + s;
    if (r() < 0.3) s += pick(r, ['.', ',', '.5', 'e10', ' apples', '%', 'th']) + digits(r, 3);
    if (r() < 0.2) s = s.replace(/(\d)(?=(\d{3})+$)/g, '$1,');
    add('digits', s);
  }
  for (let i = 0; i < 150; i++) {
    const parts = [];
    for (let k = 0, n = 1 + Math.floor(r() * 6); k < n; k++)
      parts.push(r() < 0.6 ? pick(r, CONTR) : pick(r, EN));
    add('contractions', parts.join(pick(r, [' ', '', '  ', '\n'])));
  }
  for (let i = 0; i < 200; i++) {
    let s = '';
    for (let k = 0, n = 1 + Math.floor(r() * 8); k < n; k++) {
      s += r() < 0.5 ? pick(r, WS) : pick(r, EN);
      if (r() < 0.2) s += pick(r, WS).repeat(1 + Math.floor(r() * 40));
    }
    add('whitespace', s);
  }
  add('whitespace', ' '.repeat(1000));
  add('whitespace', '\n'.repeat(700) + 'x');
  add('whitespace', 'a' + ' \t'.repeat(300) + 'b');
  add('whitespace', 'x'.repeat(2000));
  add('whitespace', '!'.repeat(600) + ' ' + '=-'.repeat(400));
  for (let i = 0; i < 200; i++) {
    let s = '';
    for (let k = 0, n = 1 + Math.floor(r() * 6); k < n; k++) {
      const x = r();
      s += x < 0.35 ? pick(r, SPECIALS) : x < 0.5 ? pick(r, NEAR_SPECIALS) :
        x < 0.75 ? pick(r, EN) + pick(r, ['', ' ']) : pick(r, WS);
    }
    add('specials', s);
  }
  for (let i = 0; i < 200; i++) {
    let s = '';
    for (let k = 0, n = 1 + Math.floor(r() * 6); k < n; k++)
      s += pick(r, ODD) + (r() < 0.5 ? pick(r, ['', ' ', 'x', '\n', pick(r, ZH)]) : '');
    add('utf8_boundaries', s);
  }
  for (let i = 0; i < 250; i++) add('random_chars', randomChars(r, 1 + Math.floor(r() * 40)));
  for (let i = 0; i < 150; i++) {
    const pools = [EN, ZH, AR, HI, RU, EMOJI, CONTR, WS, SPECIALS, ODD, CODE];
    let s = '';
    for (let k = 0, n = 2 + Math.floor(r() * 12); k < n; k++) s += pick(r, pick(r, pools));
    add('mixed', s);
  }
  for (let i = 0; i < 250; i++) {
    let s = '';
    for (let k = 0, n = 1 + Math.floor(r() * 8); k < n; k++) {
      s += r() < 0.45 ? pick(r, EDGE) : pick(r, EDGE_CTX);
      if (r() < 0.25) s += pick(r, EN);
    }
    add('unicode_edge', s);
  }
  for (const c of EDGE) {
    add('unicode_edge', c);
    add('unicode_edge', "it'" + c);
    add('unicode_edge', ' ' + c + ' ' + c + c + '\n');
  }
  add('edge', '');
  add('edge', ' ');
  add('edge', "'");
  add('edge', '<|im_end|>');
  add('edge', '<|im_end|><|im_end|>');
  return out;
}

module.exports = {generate, JS_DIFFERS, rng, pick, words, EN, CODE, ZH, AR, HI, RU, EMOJI, randomChars};

if (require.main === module) {
  const c = generate();
  const cats = {};
  for (const x of c) cats[x.cat] = (cats[x.cat] || 0) + 1;
  console.log(c.length, JSON.stringify(cats));
}
