"""The citizens' words: ticket texts built from templates x slots, vectorised per template.

Why: screening, word clouds and topic rules are only tested honestly if texts read like real calls and
posts: phone transcripts in the operator's third person ("市民来电反映：…"), online posts in the first
person, the real street and a plausible named place, the signal words of each special project in several
phrasings, and a share of ordinary tickets that only mention a project word in passing.
"""

from __future__ import annotations

import re

import numpy as np

from .taxonomy import LEAVES

OPEN_PHONE = ("市民来电反映：", "来电人反映，", "市民来电称，", "来电反映：", "市民反映，", "来电人称，")
OPEN_ONLINE = ("您好，", "你好，", "我想反映一下，", "我是附近居民，", "", "麻烦问一下，", "投诉：", "我是{street}的居民，")
CLOSE_PHONE = ("来电人希望相关部门尽快处理。", "市民要求尽快解决。", "请相关部门核实处理。",
               "来电人表示已多次反映，希望尽快解决。", "市民希望给予答复。")
CLOSE_ONLINE = ("希望相关部门尽快处理，谢谢！", "请尽快解决！", "麻烦管一管。", "希望能尽快给个答复。", "谢谢。",
                "希望有关部门重视。")

SLOTS = {
    "dur": ("好几天了", "一个多月了", "两个星期了", "快半年了", "从上周开始", "最近一段时间"),
    "when": ("每天晚上", "最近几天", "这两天", "每天早上", "周末", "一到晚上"),
    "late": ("晚上十点多", "夜里十一点", "凌晨一两点", "早上六点不到"),
    # manhole covers
    "mh_bad": ("破损了", "缺失了", "塌陷下去了", "松动了，车一过就咣当响", "盖子碎了一半，破损严重",
               "整个掉下去了，井口缺失盖子", "被压坏了，破损很严重", "错位翘起来了", "下沉了好几公分"),
    "mh_risk": ("晚上没有警示，很容易有人掉进去", "已经有骑电动车的人摔倒了", "周边没有警示标志",
                "老人孩子路过很危险", "车辆经过很危险"),
    # sewage
    "sw_what": ("有污水直接排进河道", "有人往河道里偷排污水", "排污口一直往外冒黑水", "雨水管网里流出的都是污水",
                "污水直排进河道，水发黑发臭", "河面漂着一层油污，污水味很重"),
    "sw_smell": ("味道特别大", "臭味熏得开不了窗", "水都是黑的", "鱼都死了不少", "夏天更臭"),
    # counterfeits
    "cf_what": ("假冒名牌运动鞋", "山寨手机", "三无产品", "假冒名牌化妆品", "假冒白酒", "伪劣电器", "假冒品牌服装",
                "山寨耳机"),
    "cf_how": ("买回来一看就是假货", "商家说是正品，其实是假冒的", "包装上连厂名厂址都没有，是三无产品",
               "质量特别差，明显是伪劣产品", "好几家摊位都在卖"),
    # wages
    "wg_who": ("包工头", "施工单位", "劳务公司", "项目负责人", "老板"),
    "wg_n": ("三个月", "半年", "四个多月", "大半年", "两个月"),
    "wg_people": ("二十多个农民工", "我们十几个工人", "七八个农民工兄弟", "三十多名工人", "我们班组"),
    # fire lanes
    "fl_what": ("消防通道被私家车堵死了", "消防通道上长期乱停车", "有人在消防通道上堆放杂物还乱停车",
                "消防通道被占用，车根本过不去", "消防通道堵塞，物业也不管"),
    # elderly-care fire safety
    "ec_what": ("养老院的灭火器都过期了", "养老院里喷淋系统是坏的", "养老院的消防通道被杂物堵着",
                "养老院消防设施不全，灭火器没几个", "养老院楼道里私拉电线，消防隐患很大"),
    # phone/bank cards
    "tc_what": ("有人高价收购电话卡和银行卡", "有人在门口出租出借银行卡", "有人收192号段的电话卡，说是拿去诈骗用",
                "小区里有人组织老人办电话卡、银行卡再转卖", "有人在群里出租银行卡账户，怀疑用于诈骗"),
    # minors
    "mn_what": ("孩子在学校被高年级学生欺负，被打伤了", "孩子在学校受伤了，学校不管", "孩子长期遭受校园欺凌",
                "有几个学生经常欺负我家孩子，被打伤好几次", "孩子在学校受伤，老师也没及时通知家长"),
    "mn_ask": ("希望学校和有关部门重视校园欺凌", "请督促学校处理", "想咨询怎么维权"),
    "cs_what": ("前夫一直不给抚养费，孩子还未成年", "对方拖欠未成年孩子的抚养费两年多了", "离婚后抚养费一直没给，孩子被欺负也没人管"),
    # traffic
    "tr_what": ("红绿灯坏了好几天", "红绿灯时间太短，老人孩子过不去，电动自行车还闯红灯", "路口信号灯不亮，车辆乱行",
                "路口经常发生交通事故", "电动自行车逆行乱停，路口特别乱", "路口没有斑马线和红绿灯，事故不断"),
    # rural ecology
    "ru_what": ("有人往沟里倾倒建筑垃圾", "村边空地被倾倒了大量垃圾", "有人偷倒渣土和垃圾，土壤都污染了",
                "田边堆满了生活垃圾，还有人倾倒废油", "有人在林地里倾倒垃圾焚烧，污染土壤"),
    # food safety
    "fd_what": ("买的熟食过期变质了", "吃完饭全家拉肚子，怀疑食物中毒，后厨食品不新鲜", "后厨卫生特别差，食品都堆在地上",
                "店里卖过期食品", "无证经营，食品过期变质也没人管", "外卖里吃出异物，后厨卫生堪忧"),
    # prepaid cards
    "pp_what": ("办了预付卡，现在店铺跑路了", "充值的会员卡、预付卡都没法退费", "预付卡（会员卡）里还有几千块钱，老板联系不上了",
                "办预付卡时承诺随时退费，现在不给退", "店铺突然关门，预付卡、储值卡的钱退不了"),
    "pp_amt": ("三千多元", "五千元", "八千多元", "一万二", "两千元"),
    # ordinary
    "noise_src": ("施工", "装修", "广场舞", "酒吧", "烧烤店", "空调外机", "KTV"),
    "heat_t": ("只有十五六度", "暖气不热", "暖气片是凉的", "室温不到十八度"),
    "prop_what": ("物业不作为", "楼道灯坏了没人修", "电梯经常坏", "绿化没人管", "门禁坏了好久", "楼道堆满杂物"),
    "park_what": ("路边车辆乱停乱放", "车辆停在人行道上", "车位被外来车辆长期霸占", "地锁占道，车没法停",
                  "共享单车乱停乱放"),
}

PASSING = (
    "之前反映的井盖问题已经处理好了，这次是别的事。",
    "旁边河道的治理还不错，就是这件事一直没人管。",
    "物业说会把消防通道的事一起看看。",
    "我在工地上班，白天没时间，只能晚上打电话。",
    "每天接孩子都路过这个路口，",
    "我上个月在这附近办了张银行卡，顺便咨询一下。",
    "我在这家店办过会员卡，",
    "楼下饭馆卫生倒还行，",
    "我家老人住在附近的养老院，",
    "孩子在学校挺好的，就是这个事让人烦。",
    "垃圾清运倒是挺及时，",
    "附近小店的东西是不是假货我也说不好，",
)

T = {
    # ---- the 12 special projects: several bodies each, all carrying >= 2 signal words
    "井盖破损": ("{place}的井盖{mh_bad}，{mh_risk}。", "{street}{place}有个井盖{mh_bad}，{dur}，{mh_risk}。",
             "{place}附近路面上的井盖{mh_bad}，井盖周围没有警示，{mh_risk}。",
             "{place}的雨水井盖{mh_bad}，{dur}也没人修，{mh_risk}。",
             "{street}{place}井盖缺失，只放了个锥桶，{mh_risk}。"),
    "污水排放": ("{place}{sw_what}，{sw_smell}。", "{street}{place}这边{sw_what}，{dur}，{sw_smell}。",
             "{place}附近的排污口{when}偷排污水，{sw_smell}。", "{place}{sw_what}，河道里{sw_smell}。"),
    "河道污染": ("{place}河道{sw_smell}，{sw_what}。", "{street}{place}的河道发黑发臭，{sw_what}。",
             "{place}{sw_what}，{dur}，河道两岸{sw_smell}。"),
    "假冒伪劣": ("{place}有商户卖{cf_what}，{cf_how}。", "在{street}{place}买到{cf_what}，{cf_how}。",
             "{place}{cf_how}，卖的都是{cf_what}，假冒伪劣太多了。", "{place}里{cf_what}随处可见，{cf_how}。"),
    "拖欠工资": ("{place}的{wg_who}拖欠{wg_people}工资{wg_n}，眼看要过年了还不给。",
             "我在{street}{place}干活，{wg_who}欠薪{wg_n}，一直拖欠不给，{wg_people}都没拿到钱。",
             "{place}{wg_who}拖欠农民工工资{wg_n}，多次讨薪无果。",
             "{wg_people}在{place}打工，{wg_who}拖欠工资{wg_n}，一直推脱。"),
    "消防通道占用": ("{place}{fl_what}。", "{street}{place}{fl_what}，万一着火消防车进不来。",
               "{place}{when}{fl_what}，{dur}。", "{place}的消防通道{when}都被乱停车占着，消防通道堵塞很危险。"),
    "养老机构消防": ("{place}{ec_what}。", "我家老人住在{street}{place}，{ec_what}，担心出事。",
               "{place}{ec_what}，养老院里老人行动不便，消防安全太让人担心了。"),
    "两卡违法": ("{place}附近{tc_what}。", "{street}{place}门口{tc_what}，希望查一查。",
             "在{place}看到{tc_what}，出租出借银行卡是违法的吧。"),
    "校园欺凌": ("{place}的{mn_what}，{mn_ask}。", "我家孩子在{street}{place}上学，{mn_what}，{mn_ask}。",
             "{place}存在校园欺凌，{mn_what}。"),
    "学生伤害": ("{mn_what}，是在{place}，{mn_ask}。", "孩子在{place}受伤，{mn_what}，{mn_ask}。"),
    "抚养费纠纷": ("{cs_what}，孩子上学要用钱，{mn_ask}。", "住在{place}，{cs_what}，抚养费的事{mn_ask}。"),
    "信号灯故障": ("{place}的{tr_what}，{dur}。", "{street}{place}{tr_what}，很容易出事故。",
              "{place}红绿灯坏了，{when}车都乱开，路口很危险。"),
    "交通安全隐患": ("{place}{tr_what}，存在交通安全隐患。", "{street}{place}{when}电动自行车乱停乱行，路口事故多。",
               "{place}{tr_what}，上周又出了交通事故。"),
    "垃圾倾倒": ("{place}{ru_what}。", "{street}{place}附近{ru_what}，{dur}。", "{place}{ru_what}，村里污染越来越重。"),
    "土壤污染": ("{place}{ru_what}，土壤污染很严重。", "{street}{place}有人倾倒废料，土壤污染，庄稼都长不好。"),
    "食品安全": ("在{place}{fd_what}。", "{street}{place}{fd_what}，食品安全有问题。",
             "{place}{fd_what}，希望查一查食品安全。", "{place}的{fd_what}。"),
    "预付卡退费": ("在{place}{pp_what}，卡里还有{pp_amt}。", "{street}{place}{pp_what}。",
              "{place}{pp_what}，好多人都办了预付卡，要求退费。"),
    # ---- ordinary city business
    "物业服务": ("{place}{prop_what}，{dur}。", "{street}{place}{prop_what}，物业一直推脱。", "{place}物业服务太差，{prop_what}。"),
    "物业收费": ("咨询{place}物业费收费标准。", "{place}物业费涨价了，想问问是否合理。", "{place}物业乱收费，停车费也涨了。"),
    "电梯故障": ("{place}电梯{dur}坏了，老人上下楼困难。", "{place}的电梯经常困人，{dur}。"),
    "供暖不热": ("{place}{heat_t}，家里有老人孩子。", "{street}{place}供暖不达标，{heat_t}。", "{place}暖气{heat_t}，找了热力公司也没用。"),
    "暖气漏水": ("{place}暖气管道漏水，楼下都泡了。", "{place}暖气阀门漏水，{dur}。"),
    "路灯不亮": ("{place}路灯不亮，{dur}，晚上走路很黑。", "{street}{place}一排路灯都坏了。"),
    "道路破损": ("{place}路面坑洼不平，{dur}。", "{place}道路破损严重，下雨全是积水。"),
    "停水": ("{place}突然停水，没有任何通知。", "{place}{dur}水压很低，高层没水。"),
    "下水道堵塞": ("{place}下水道堵了，{dur}往外冒。", "{place}楼下化粪池满了没人清掏。"),
    "积水内涝": ("{place}一下雨就积水，车都过不去。", "{street}{place}路面积水很深，{dur}。"),
    "垃圾清运": ("{place}垃圾桶满了没人清运，{dur}。", "{place}垃圾堆在路边好几天没拉走。"),
    "垃圾分类": ("咨询{place}垃圾分类投放时间。", "{place}垃圾分类桶不够用。"),
    "违章搭建": ("{place}有人私搭乱建，占用公共空间。", "{place}一楼住户违章搭建，{dur}。"),
    "占道经营": ("{place}{when}有小摊贩占道经营。", "{place}商户占道经营，行人没法走。"),
    "施工噪声": ("{place}{late}还在施工，噪音扰民。", "{street}{place}夜间施工，{dur}，{late}还在干。"),
    "社会生活噪声": ("{place}{when}{noise_src}噪音扰民。", "{place}楼上{noise_src}噪音太大，{dur}。"),
    "商业噪声": ("{place}的{noise_src}{late}还很吵。", "{place}门口音响声音太大，{dur}。"),
    "餐饮油烟": ("{place}餐馆油烟直排，家里没法开窗。", "{place}烧烤油烟太大，{dur}。"),
    "扬尘污染": ("{place}工地扬尘很大，没有苫盖。", "{place}渣土车拉土不盖，到处都是灰。"),
    "乱停车": ("{place}{park_what}，{dur}。", "{street}{place}{park_what}，出行很不方便。"),
    "停车收费": ("咨询{place}附近停车收费标准。", "{place}停车场乱收费。"),
    "公交服务": ("{place}公交车{dur}不按点来。", "{place}公交站司机态度差。"),
    "诈骗求助": ("接到诈骗电话被骗了两千元，想问怎么处理。", "家里老人在{place}被人推销保健品骗了钱。"),
    "社保缴纳": ("咨询社保断缴后怎么补缴。", "单位不给缴社保，{dur}。"),
    "养老服务质量": ("{place}护理员态度差，老人吃不好。", "咨询{place}入住条件和收费。"),
    "网购纠纷": ("网购商品质量问题，商家不给退货。", "网上买的东西一直不发货，客服联系不上。"),
    "价格欺诈": ("{place}明码标价和结账价格不一致。", "{place}先涨价再打折。"),
    "招生入学": ("咨询{place}入学划片政策。", "孩子入学材料审核问题，想问问{place}怎么办理。"),
    "校外培训": ("{place}违规开展学科培训。", "{place}课外培训收费不退。"),
    "宅基地纠纷": ("{place}宅基地边界纠纷，{dur}。", "{place}邻居占了我家宅基地。"),
    "医疗纠纷": ("在{place}看病，对诊疗结果有异议。", "{place}乱收费，检查项目太多。"),
    "挂号预约": ("{place}挂号难，网上约不到。", "咨询{place}预约挂号流程。"),
    "户籍办理": ("咨询孩子落户需要什么材料。", "居住证办理进度查询。"),
    "停电": ("{place}突然停电，{dur}。", "{place}经常跳闸停电，没有通知。"),
    "燃气问题": ("{place}楼道里有燃气味。", "{place}燃气表故障，没法充值。"),
    "网络信号": ("{place}手机信号很差，{dur}。", "{place}宽带经常断网。"),
}

_SLOT_RE = re.compile(r"\{(\w+)\}")


def _parts(template: str) -> list[tuple[bool, str]]:
    """[(is_slot, text)] pieces of a template."""
    out = []
    pos = 0
    for m in _SLOT_RE.finditer(template):
        if m.start() > pos:
            out.append((False, template[pos:m.start()]))
        out.append((True, m.group(1)))
        pos = m.end()
    if pos < len(template):
        out.append((False, template[pos:]))
    return out


_PARSED = {k: [_parts(t) for t in v] for k, v in T.items()}
_OPEN_PHONE = np.array(OPEN_PHONE, dtype=object)
_OPEN_ONLINE = np.array(OPEN_ONLINE, dtype=object)
_CLOSE_PHONE = np.array(CLOSE_PHONE, dtype=object)
_CLOSE_ONLINE = np.array(CLOSE_ONLINE, dtype=object)
_SLOT_ARR = {k: np.array(v, dtype=object) for k, v in SLOTS.items()}
_PASSING = np.array(PASSING, dtype=object)


def _pick(rng, arr: np.ndarray, n: int) -> np.ndarray:
    return arr[rng.integers(0, len(arr), n)]


def _fill(rng, parts, place, street, n) -> np.ndarray:
    out = np.full(n, "", dtype=object)
    # a place named after its street (建国门北里) is not preceded by the street name again
    starts = np.fromiter((p.startswith(s) for p, s in zip(place, street, strict=True)), dtype=bool, count=n)
    if not any(is_slot and text == "street" for is_slot, text in parts):
        # name the street before the place most of the time
        lead = (rng.random(n) < 0.7) & ~starts
        place = np.where(lead, street + place, place)
    for k, (is_slot, text) in enumerate(parts):
        if not is_slot:
            out = out + text
        elif text == "place":
            out = out + place
        elif text == "street":
            before_place = k + 1 < len(parts) and parts[k + 1] == (True, "place")
            out = out + (np.where(starts, "", street) if before_place else street)
        else:
            out = out + _pick(rng, _SLOT_ARR[text], n)
    return out


def render(rng: np.random.Generator, leaf: np.ndarray, place: np.ndarray, street: np.ndarray,
           phone: np.ndarray, passing: np.ndarray | None = None) -> np.ndarray:
    """Texts for tickets with leaf index, place name, short street name and channel (phone or not).

    `passing` (bool per ticket) inserts, after the opener, a sentence that mentions a special project only
    in passing.
    """
    n = leaf.size
    body = np.empty(n, dtype=object)
    for li in np.unique(leaf):
        m = np.flatnonzero(leaf == li)
        temps = _PARSED[LEAVES[li].l3]
        tid = rng.integers(0, len(temps), m.size)
        for t in range(len(temps)):
            mm = m[tid == t]
            if mm.size:
                body[mm] = _fill(rng, temps[t], place[mm], street[mm], mm.size)
    # opener and closer depend on the channel: phone transcripts vs online posts
    opener = np.where(phone, _pick(rng, _OPEN_PHONE, n), _pick(rng, _OPEN_ONLINE, n))
    closer = np.where(phone, _pick(rng, _CLOSE_PHONE, n), _pick(rng, _CLOSE_ONLINE, n))
    no_close = rng.random(n) < 0.25
    closer[no_close] = ""
    own = np.flatnonzero(opener == "我是{street}的居民，")
    opener[own] = "我是" + street[own] + "的居民，"
    if passing is not None and passing.any():
        i = np.flatnonzero(passing)
        opener[i] = opener[i] + _pick(rng, _PASSING, i.size)
    return opener + body + closer
