from computeledger.cli import app

app()
