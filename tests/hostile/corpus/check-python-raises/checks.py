import sys, time


def hang(response):
    time.sleep(3600)


def busy(response):
    end = time.time() + 5
    while time.time() < end:  # longer than its timeout
        pass


def exits(response):
    sys.exit(3)


def raises(response):
    raise ValueError('no idea')


def text(response):
    return 'yes'
