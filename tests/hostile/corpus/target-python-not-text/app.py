import asyncio, sys, time


def hang(q):
    time.sleep(3600)


def exits(q):
    sys.exit('bye')


async def ahang(q):
    await asyncio.sleep(3600)


async def ablock(q):
    time.sleep(3600)


async def aexits(q):
    sys.exit(2)


def number(q):
    return 42
