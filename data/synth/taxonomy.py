"""The demo's 3-level problem classification, special projects and hotline handling parameters.

Why a table and not code: every realism property the tests measure (category mix, seasons, which leaf
feeds which special project, public-interest relevance, handling units, conversion into clues) is read
from the rows below, so the generator, the topic rules (data/topics.yaml) and the tests agree on one list.
Names follow the style of Beijing's 12345 classification (一级/二级/三级分类).
"""

from __future__ import annotations

from dataclasses import dataclass

# The 12 special projects (专项), exact names shared with data/topics.yaml.
TOPICS = ("井盖", "污水", "假冒伪劣", "欠薪", "消防通道", "养老消防", "两卡", "未成年人保护",
          "交通安全", "乡村生态", "食品安全", "预付卡")


@dataclass(frozen=True)
class Leaf:
    l1: str
    l2: str
    l3: str
    weight: float          # relative share of all tickets (before seasons)
    season: str            # flat / heating / summer / sewage / flood / festival_wages / spring / school
    topic: str | None      # special project this leaf belongs to
    pi: bool               # public-interest related (公益相关): counts in the clue conversion base
    appeal: tuple          # weights of 投诉, 求助, 咨询, 建议
    unit: str              # handling-unit kind (see UNITS)
    area: str              # where it happens: all / urban / rural
    place: str             # kind of place named in the text: compound, crossing, market, river, ...


_C = (0.70, 0.15, 0.10, 0.05)   # mostly complaints
_H = (0.30, 0.50, 0.15, 0.05)   # mostly requests for help
_Q = (0.15, 0.15, 0.60, 0.10)   # mostly consultations

LEAVES: tuple[Leaf, ...] = (
    # ---- ordinary city business: the bulk of the hotline
    Leaf("城乡建设", "物业管理", "物业服务", 9.0, "flat", None, False, _C, "housing", "urban", "compound"),
    Leaf("城乡建设", "物业管理", "物业收费", 3.0, "flat", None, False, _Q, "housing", "urban", "compound"),
    Leaf("城乡建设", "物业管理", "电梯故障", 2.0, "flat", None, True, _H, "housing", "urban", "compound"),
    Leaf("城乡建设", "供暖", "供暖不热", 5.5, "heating", None, False, _C, "heat", "all", "compound"),
    Leaf("城乡建设", "供暖", "暖气漏水", 1.5, "heating", None, False, _H, "heat", "all", "compound"),
    Leaf("城乡建设", "市政设施", "路灯不亮", 1.5, "flat", None, True, _H, "city", "all", "road"),
    Leaf("城乡建设", "市政设施", "道路破损", 2.0, "flat", None, True, _C, "city", "all", "road"),
    Leaf("城乡建设", "市政设施", "井盖破损", 1.1, "flat", "井盖", True, _C, "city", "all", "crossing"),
    Leaf("城乡建设", "供水排水", "停水", 2.0, "flat", None, False, _H, "water", "all", "compound"),
    Leaf("城乡建设", "供水排水", "下水道堵塞", 1.5, "summer", None, False, _H, "water", "all", "compound"),
    Leaf("城乡建设", "供水排水", "积水内涝", 0.6, "flood", None, True, _H, "water", "all", "road"),
    Leaf("城市管理", "环境卫生", "垃圾清运", 3.0, "flat", None, True, _C, "city", "all", "compound"),
    Leaf("城市管理", "环境卫生", "垃圾分类", 1.0, "flat", None, False, _Q, "city", "urban", "compound"),
    Leaf("城市管理", "违法建设", "违章搭建", 2.0, "flat", None, True, _C, "city", "all", "compound"),
    Leaf("城市管理", "市容秩序", "占道经营", 2.0, "summer", None, True, _C, "city", "urban", "road"),
    Leaf("生态环境", "噪声污染", "施工噪声", 3.0, "summer", None, True, _C, "env", "all", "worksite"),
    Leaf("生态环境", "噪声污染", "社会生活噪声", 3.0, "flat", None, False, _C, "police", "urban", "compound"),
    Leaf("生态环境", "噪声污染", "商业噪声", 1.5, "summer", None, False, _C, "env", "urban", "service"),
    Leaf("生态环境", "大气污染", "餐饮油烟", 1.5, "flat", None, True, _C, "env", "urban", "eatery"),
    Leaf("生态环境", "大气污染", "扬尘污染", 1.0, "spring", None, True, _C, "env", "all", "worksite"),
    Leaf("生态环境", "水污染", "污水排放", 0.9, "sewage", "污水", True, _C, "water", "all", "river"),
    Leaf("生态环境", "水污染", "河道污染", 0.5, "sewage", "污水", True, _C, "water", "all", "river"),
    Leaf("交通管理", "停车管理", "乱停车", 3.0, "flat", None, False, _C, "traffic", "urban", "road"),
    Leaf("交通管理", "停车管理", "停车收费", 1.0, "flat", None, False, _Q, "traffic", "urban", "road"),
    Leaf("交通管理", "道路交通", "信号灯故障", 0.6, "flat", "交通安全", True, _C, "traffic", "all", "crossing"),
    Leaf("交通管理", "道路交通", "交通安全隐患", 0.5, "flat", "交通安全", True, _C, "traffic", "all", "crossing"),
    Leaf("交通管理", "公共交通", "公交服务", 1.5, "flat", None, False, _C, "transit", "all", "road"),
    Leaf("公共安全", "消防安全", "消防通道占用", 0.8, "flat", "消防通道", True, _C, "fire", "urban", "compound"),
    Leaf("公共安全", "消防安全", "养老机构消防", 0.25, "flat", "养老消防", True, _C, "civil", "all", "nursing"),
    Leaf("公共安全", "电信诈骗", "两卡违法", 0.25, "flat", "两卡", True, _C, "police", "all", "telecom"),
    Leaf("公共安全", "治安管理", "诈骗求助", 0.8, "flat", None, False, _H, "police", "all", "compound"),
    Leaf("劳动社保", "劳动关系", "拖欠工资", 1.0, "festival_wages", "欠薪", True, _H, "labour", "all", "worksite"),
    Leaf("劳动社保", "社会保险", "社保缴纳", 1.5, "flat", None, False, _Q, "labour", "all", "compound"),
    Leaf("劳动社保", "养老服务", "养老服务质量", 0.8, "flat", None, False, _C, "civil", "all", "nursing"),
    Leaf("市场监管", "商品质量", "假冒伪劣", 0.8, "flat", "假冒伪劣", True, _C, "market", "all", "market"),
    Leaf("市场监管", "食品安全", "食品安全", 0.8, "summer", "食品安全", True, _C, "market", "all", "eatery"),
    Leaf("市场监管", "消费维权", "预付卡退费", 0.7, "flat", "预付卡", True, _C, "market", "urban", "service"),
    Leaf("市场监管", "消费维权", "网购纠纷", 2.0, "flat", None, False, _C, "market", "all", "compound"),
    Leaf("市场监管", "价格监管", "价格欺诈", 1.0, "flat", None, False, _C, "market", "all", "eatery"),
    Leaf("教育", "未成年人保护", "校园欺凌", 0.2, "school", "未成年人保护", True, _H, "edu", "all", "school"),
    Leaf("教育", "未成年人保护", "学生伤害", 0.15, "school", "未成年人保护", True, _H, "edu", "all", "school"),
    Leaf("教育", "未成年人保护", "抚养费纠纷", 0.1, "flat", "未成年人保护", True, _H, "court", "all", "compound"),
    Leaf("教育", "学校管理", "招生入学", 1.5, "school", None, False, _Q, "edu", "all", "school"),
    Leaf("教育", "学校管理", "校外培训", 0.8, "flat", None, False, _C, "edu", "urban", "service"),
    Leaf("农业农村", "农村环境", "垃圾倾倒", 0.35, "spring", "乡村生态", True, _C, "rural", "rural", "village"),
    Leaf("农业农村", "农村环境", "土壤污染", 0.12, "spring", "乡村生态", True, _C, "rural", "rural", "village"),
    Leaf("农业农村", "农村管理", "宅基地纠纷", 0.4, "flat", None, False, _H, "rural", "rural", "village"),
    Leaf("卫生健康", "医疗服务", "医疗纠纷", 1.0, "flat", None, False, _C, "health", "all", "hospital"),
    Leaf("卫生健康", "医疗服务", "挂号预约", 1.0, "flat", None, False, _Q, "health", "all", "hospital"),
    Leaf("公安管理", "户籍证件", "户籍办理", 1.2, "flat", None, False, _Q, "police", "all", "compound"),
    Leaf("公共服务", "供电", "停电", 1.5, "summer", None, False, _H, "power", "all", "compound"),
    Leaf("公共服务", "燃气", "燃气问题", 1.0, "heating", None, True, _H, "gas", "all", "compound"),
    Leaf("公共服务", "通信", "网络信号", 1.0, "flat", None, False, _C, "telecom", "all", "compound"),
)

LEAF_INDEX = {lf.l3: i for i, lf in enumerate(LEAVES)}
TOPIC_LEAVES = {t: [lf.l3 for lf in LEAVES if lf.topic == t] for t in TOPICS}
PI_LEAVES = [lf.l3 for lf in LEAVES if lf.pi]

# Project -> (procuratorial function, department) for the clues it produces.
TOPIC_FUNCTION = {
    "井盖": "公益诉讼", "污水": "公益诉讼", "假冒伪劣": "刑事", "欠薪": "民事", "消防通道": "公益诉讼",
    "养老消防": "公益诉讼", "两卡": "刑事", "未成年人保护": "民事", "交通安全": "公益诉讼",
    "乡村生态": "公益诉讼", "食品安全": "公益诉讼", "预付卡": "行政",
}
DEPARTMENT = {"刑事": "第二检察部", "民事": "第六检察部", "行政": "第七检察部", "公益诉讼": "第八检察部"}
MINORS_DEPARTMENT = "第九检察部"

# Handling units: kind -> template ({d} district, {s} street) or a city-level body.
UNITS = {
    "housing": ("{d}住房和城乡建设委员会", "{s}办事处"),
    "heat": ("北京市热力集团有限责任公司", "{d}城市管理委员会"),
    "city": ("{d}城市管理委员会", "{s}办事处"),
    "water": ("{d}水务局", "北京市自来水集团有限责任公司"),
    "env": ("{d}生态环境局", "{s}办事处"),
    "traffic": ("北京市公安局公安交通管理局", "{d}交通委员会"),
    "transit": ("北京公共交通控股（集团）有限公司", "北京市交通委员会"),
    "fire": ("{d}消防救援支队", "{s}办事处"),
    "civil": ("{d}民政局", "{s}办事处"),
    "police": ("北京市公安局{d}分局", "{s}派出所"),
    "labour": ("{d}人力资源和社会保障局", "{s}办事处"),
    "market": ("{d}市场监督管理局", "{s}市场监管所"),
    "edu": ("{d}教育委员会", "{s}办事处"),
    "court": ("{d}人民法院", "{s}司法所"),
    "rural": ("{d}农业农村局", "{s}人民政府"),
    "health": ("{d}卫生健康委员会", "北京市卫生健康委员会"),
    "power": ("国网北京市电力公司", "{d}城市管理委员会"),
    "gas": ("北京市燃气集团有限责任公司", "{d}城市管理委员会"),
    "telecom": ("北京市通信管理局", "{s}办事处"),
}

APPEAL_TYPES = ("投诉", "求助", "咨询", "建议")
CHANNELS = ("电话", "网络", "微信", "App", "领导信箱")
CHANNEL_WEIGHTS = (0.62, 0.12, 0.10, 0.13, 0.03)

# Spring Festival (春节) dates, for wage-arrears peaks.
SPRING_FESTIVAL = {
    2018: "2018-02-16", 2019: "2019-02-05", 2020: "2020-01-25", 2021: "2021-02-12", 2022: "2022-02-01",
    2023: "2023-01-22", 2024: "2024-02-10", 2025: "2025-01-29", 2026: "2026-02-17", 2027: "2027-02-06",
    2028: "2028-01-26", 2029: "2029-02-13", 2030: "2030-02-03", 2031: "2031-01-23", 2032: "2032-02-11",
    2033: "2033-01-31", 2034: "2034-02-19", 2035: "2035-02-08",
}

# Tickets per district follow resident population with an uplift in the centre.
DISTRICT_UPLIFT = {"东城区": 1.8, "西城区": 1.8, "朝阳区": 1.15, "海淀区": 1.15, "丰台区": 1.1, "石景山区": 1.1}


OUTCOMES = {
    "井盖": ("更换、加固井盖", "个", 1, 30),
    "污水": ("截断污水直排", "吨", 50, 3000),
    "假冒伪劣": ("查扣假冒伪劣商品", "件", 20, 2000),
    "欠薪": ("追回拖欠工资", "元", 20000, 900000),
    "消防通道": ("清理占用消防通道", "处", 1, 25),
    "养老消防": ("整改养老机构消防隐患", "处", 1, 15),
    "两卡": ("清理涉诈电话卡、银行卡", "张", 5, 300),
    "未成年人保护": ("开展法治宣讲、督促落实保护措施", "场", 1, 20),
    "交通安全": ("整改交通安全隐患点位", "处", 1, 20),
    "乡村生态": ("清理倾倒垃圾", "吨", 10, 1000),
    "食品安全": ("督促整改食品经营户", "户", 1, 40),
    "预付卡": ("督促退还预付卡余额", "元", 5000, 400000),
    None: ("督促整改公益损害问题", "处", 1, 10),
}
