# Constructs that Python 3.11 compiles (3.12 ones at the end), for scripts/bench/python-parsers.ts:
# a parser that leaves an error node on one of them would misread or refuse a flow module holding it.
x = 5.
y = 1_000.5e-3j
z = Rb'\x00' + rB"a" + BR'''b'''
name = f"{'a'}{x!r:>{10}}"
nested = f"{f"{x}"}"
if (n := 10) > 5:
    pass
match x:
    case [1, *rest]:
        pass
    case {"k": v, **kw}:
        pass
    case Point(x=0) | None:
        pass
    case _:
        pass
try:
    pass
except* ValueError as e:
    pass
@(lambda f: f)
def g(): pass
@buttons[0].clicked.connect
def h(): pass
def f(a, /, b=lambda q: q, *c, d: "int" = 1, **e) -> dict[str, int]:
    global x
    return {**e, 'x': [*c]}
print(f"{x=}", f'{x:{"<"}10}')
ünïcode_名前 = 1
async def k():
    async with a as b, c as d:
        await x
    async for i in y:
        yield i
class C[T](Base, metaclass=M):
    pass
type Alias = list[int]
def generic[T: int](x: T) -> T: return x
s = '''a
b''' "c"
l = [i for i in range(3) if i if not i]
t = x if y else z
del x[0], y
assert x, "msg"
with (open("a") as f, open("b") as g):
    pass
print(*args, sep='')
x = yield
v = not x in y is not z
